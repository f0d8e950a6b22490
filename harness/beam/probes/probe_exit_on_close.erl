-module(probe_exit_on_close).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Probe: {exit_on_close, false} on the inet driver: the peer's FIN or RST
%% seen by a passive and an active port; sends, recvs, setopts after it.
main() ->
    io:format("~s~n", [erlang:system_info(otp_release)]),
    [run(Mode, Peer, Sre) || Mode <- [passive, true, once], Peer <- [fin, rst, close], Sre <- [false, true]],
    busy(rst), busy(fin_then_send),
    queued_then_fin(),
    setopt_readback(),
    otp_13939(),
    shutdown_after(),
    halt().

pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L),
    gen_tcp:close(L),
    ok = inet:setopts(S, [{exit_on_close, false}]),
    {S, A}.

peer_end(A, fin) -> ok = gen_tcp:shutdown(A, write);
peer_end(A, close) -> ok = gen_tcp:close(A);
peer_end(A, rst) -> ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A).

run(Mode, Peer, Sre) ->
    {S, A} = pair([{show_econnreset, Sre}]),
    ok = gen_tcp:send(A, <<"hello">>),
    timer:sleep(50),
    peer_end(A, Peer),
    timer:sleep(50),
    R = case Mode of
        passive ->
            R1 = gen_tcp:recv(S, 0, 0), R2 = gen_tcp:recv(S, 0, 0), R3 = gen_tcp:recv(S, 0, 0),
            [R1, R2, R3];
        _ ->
            ok = inet:setopts(S, [{active, Mode}]),
            timer:sleep(50),
            Msgs = flush(),
            Set = inet:setopts(S, [{active, once}]),
            timer:sleep(20),
            Msgs2 = flush(),
            [Msgs, {setopts_after, Set}, Msgs2, {recv, gen_tcp:recv(S, 0, 0)}]
    end,
    Alive = alive(S),
    Send = gen_tcp:send(S, <<"x">>),
    timer:sleep(20),
    Send2 = gen_tcp:send(S, <<"y">>),
    timer:sleep(20),
    PeerGot = case Peer of fin -> gen_tcp:recv(A, 0, 100); _ -> peer_gone end,
    Opts = inet:getopts(S, [active, exit_on_close]),
    Recv4 = gen_tcp:recv(S, 0, 0),
    Set2 = inet:setopts(S, [{active, once}]),
    timer:sleep(20),
    Msgs3 = flush(),
    Alive2 = alive(S),
    Close = gen_tcp:close(S),
    PeerAfter = case Peer of fin -> gen_tcp:recv(A, 0, 100); _ -> peer_gone end,
    io:format("~p peer=~p sre=~p: ~0p alive=~p sends=~0p peer_got=~0p getopts=~0p recv=~0p set_once=~0p msgs=~0p alive2=~p close=~0p peer_after=~0p~n",
              [Mode, Peer, Sre, R, Alive, [Send, Send2], PeerGot, Opts, Recv4, Set2, Msgs3, Alive2, Close, PeerAfter]),
    try gen_tcp:close(A) catch _:_ -> ok end.

%% Output queued and a caller blocked on the busy port when the peer resets.
busy(How) ->
    {S, A} = pair([{sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}]),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    Me = self(),
    Big = binary:copy(<<"z">>, 200000),
    W = spawn(fun() -> Me ! {w, gen_tcp:send(S, Big)} end),
    timer:sleep(100),
    Q0 = erlang:port_info(S, queue_size),
    case How of
        rst -> peer_end(A, rst);
        fin_then_send -> peer_end(A, close)
    end,
    timer:sleep(100),
    Wr = receive {w, X} -> X after 500 -> {still_waiting, process_info(W, status)} end,
    Q1 = erlang:port_info(S, queue_size),
    Alive = alive(S),
    Send = gen_tcp:send(S, <<"x">>),
    Recv = gen_tcp:recv(S, 0, 0),
    Recv2 = gen_tcp:recv(S, 0, 0),
    Send2 = gen_tcp:send(S, <<"x">>),
    Alive2 = alive(S),
    io:format("busy ~p: q0=~0p writer=~0p q1=~0p alive=~p send=~0p recv=~0p recv2=~0p send2=~0p alive2=~p close=~0p~n",
              [How, Q0, Wr, Q1, Alive, Send, Recv, Recv2, Send2, Alive2, gen_tcp:close(S)]),
    try gen_tcp:close(A) catch _:_ -> ok end.

%% Output queued (peer not reading) when the peer's FIN comes: the queue?
queued_then_fin() ->
    {S, A} = pair([{sndbuf, 4096}, {high_watermark, 1000000}]),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    ok = gen_tcp:send(S, binary:copy(<<"q">>, 100000)),
    timer:sleep(50),
    Q0 = erlang:port_info(S, queue_size),
    ok = gen_tcp:shutdown(A, write),
    timer:sleep(50),
    R1 = gen_tcp:recv(S, 0, 0),
    Q1 = erlang:port_info(S, queue_size),
    N = drain(A, 0),
    Q2 = erlang:port_info(S, queue_size),
    R2 = gen_tcp:recv(S, 0, 0),
    Send = gen_tcp:send(S, <<"tail">>),
    timer:sleep(50),
    Tail = size_of(gen_tcp:recv(A, 0, 200)),
    io:format("queued_then_fin: q0=~0p recv=~0p q1=~0p peer_read=~p q2=~0p recv2=~0p send=~0p tail=~0p close=~0p peer=~0p~n",
              [Q0, R1, Q1, N, Q2, R2, Send, Tail, gen_tcp:close(S), size_of(gen_tcp:recv(A, 0, 200))]),
    gen_tcp:close(A).

drain(A, N) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> drain(A, N + byte_size(B));
        E -> {N, E}
    end.

setopt_readback() ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {exit_on_close, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L),
    io:format("readback: default=~0p listener=~0p accepted=~0p~n",
              [inet:getopts(S, [exit_on_close]), inet:getopts(L, [exit_on_close]), inet:getopts(A, [exit_on_close])]),
    [gen_tcp:close(X) || X <- [S, A, L]].

%% gen_tcp_misc_SUITE:otp_13939 (accepted, active true by default).
otp_13939() ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {exit_on_close, false}]),
    {ok, P} = inet:port(L),
    {ok, C} = gen_tcp:connect({127,0,0,1}, P, [{active, false}]),
    ok = gen_tcp:close(C),
    {ok, A} = gen_tcp:accept(L),
    R1 = gen_tcp:send(A, <<0:(10*1024*1024*8)>>),
    timer:sleep(100),
    R2 = gen_tcp:send(A, <<0:(10*1024*1024*8)>>),
    timer:sleep(20),
    io:format("otp_13939: ~0p ~0p msgs=~0p alive=~p~n", [R1, R2, flush(), alive(A)]),
    gen_tcp:close(A), gen_tcp:close(L).

%% exit_on_close false and the port's own shutdown(read_write)
shutdown_after() ->
    {S, A} = pair([]),
    R0 = gen_tcp:shutdown(S, read_write),
    timer:sleep(50),
    R1 = gen_tcp:recv(S, 0, 0),
    R2 = gen_tcp:recv(S, 0, 0),
    Send = gen_tcp:send(S, <<"x">>),
    io:format("shutdown rw: ~0p recv=~0p ~0p send=~0p alive=~p peer=~0p~n",
              [R0, R1, R2, Send, alive(S), gen_tcp:recv(A, 0, 100)]),
    gen_tcp:close(S), gen_tcp:close(A).

size_of({ok, B}) -> {ok, byte_size(B)};
size_of(E) -> E.

alive(S) when is_port(S) -> erlang:port_info(S) =/= undefined.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
