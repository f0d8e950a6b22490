-module(probe_exit_on_close_fin).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Probe: {exit_on_close, false} and the peer's FIN (shutdown(write)) on
%% the inet driver: what recv, active setopts, sends, shutdown and close do
%% once the port read the end.
main() ->
    io:format("~s~n", [erlang:system_info(otp_release)]),
    passive_then_active(), active_true(), active_n(), reader_waiting(),
    busy_after_end(), shutdown_after_end(), close_queued_after_end(),
    peer_sees_no_fin(), recv_len_after_end(),
    halt().

pair() ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L),
    gen_tcp:close(L),
    ok = inet:setopts(S, [{exit_on_close, false}]),
    {S, A}.

settle() -> timer:sleep(40).

passive_then_active() ->
    {S, A} = pair(),
    ok = gen_tcp:shutdown(A, write), settle(),
    R = [gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 0, 0)],
    Steps = [begin ok = inet:setopts(S, [{active, M}]), settle(), {M, flush(), gen_tcp:recv(S, 0, 0)} end
             || M <- [once, once, true, false, true, 2] ],
    io:format("passive_then_active: ~0p ~0p alive=~p~n", [R, Steps, alive(S)]),
    gen_tcp:close(S), gen_tcp:close(A).

active_true() ->
    {S, A} = pair(),
    ok = inet:setopts(S, [{active, true}]),
    ok = gen_tcp:send(A, <<"ab">>), settle(),
    ok = gen_tcp:shutdown(A, write), settle(),
    M1 = flush(),
    ok = inet:setopts(S, [{active, false}]),
    R = [gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 0, 0)],
    ok = inet:setopts(S, [{active, once}]), settle(),
    M2 = flush(),
    ok = inet:setopts(S, [{active, true}]), settle(),
    M3 = flush(),
    Sd = gen_tcp:send(S, <<"x">>), settle(),
    io:format("active_true: ~0p passive=~0p once=~0p true=~0p send=~0p peer=~0p alive=~p~n",
              [M1, R, M2, M3, Sd, gen_tcp:recv(A, 0, 100), alive(S)]),
    gen_tcp:close(S), gen_tcp:close(A).

active_n() ->
    {S, A} = pair(),
    ok = inet:setopts(S, [{active, 3}]),
    ok = gen_tcp:send(A, <<"ab">>), settle(),
    ok = gen_tcp:shutdown(A, write), settle(),
    M1 = flush(),
    ok = inet:setopts(S, [{active, 2}]), settle(),
    M2 = flush(),
    G = inet:getopts(S, [active]),
    io:format("active_n: ~0p then_n2=~0p getopts=~0p~n", [M1, M2, G]),
    gen_tcp:close(S), gen_tcp:close(A).

reader_waiting() ->
    {S, A} = pair(),
    Me = self(),
    spawn(fun() -> Me ! {reader, gen_tcp:recv(S, 5, infinity)} end), settle(),
    ok = gen_tcp:send(A, <<"ab">>), settle(),
    ok = gen_tcp:shutdown(A, write), settle(),
    Rd = receive {reader, X} -> X after 300 -> waiting end,
    io:format("reader_waiting: ~0p then recv=~0p recv_len=~0p~n", [Rd, gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 3, 0)]),
    gen_tcp:close(S), gen_tcp:close(A).

recv_len_after_end() ->
    {S, A} = pair(),
    ok = gen_tcp:send(A, <<"abc">>), settle(),
    ok = gen_tcp:shutdown(A, write), settle(),
    R1 = gen_tcp:recv(S, 5, 0),
    io:format("recv_len_after_end: ~0p ~0p ~0p~n", [R1, gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 2, 0)]),
    gen_tcp:close(S), gen_tcp:close(A).

busy_after_end() ->
    {S, A} = pair(),
    ok = inet:setopts(S, [{sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}]),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    ok = gen_tcp:shutdown(A, write), settle(),
    {error, closed} = gen_tcp:recv(S, 0, 0),
    Me = self(),
    spawn(fun() -> Me ! {w, gen_tcp:send(S, binary:copy(<<"z">>, 100000))} end), settle(),
    Q = erlang:port_info(S, queue_size),
    Busy = receive {w, X} -> {early, X} after 100 -> waiting end,
    N = drain(A, 0),
    W = receive {w, Y} -> Y after 1000 -> none end,
    io:format("busy_after_end: q=~0p ~0p peer_read=~0p writer=~0p recv=~0p~n", [Q, Busy, N, W, gen_tcp:recv(S, 0, 0)]),
    gen_tcp:close(S), gen_tcp:close(A).

shutdown_after_end() ->
    {S, A} = pair(),
    ok = gen_tcp:shutdown(A, write), settle(),
    {error, closed} = gen_tcp:recv(S, 0, 0),
    R1 = gen_tcp:shutdown(S, write), settle(),
    P1 = gen_tcp:recv(A, 0, 100),
    R2 = gen_tcp:send(S, <<"x">>),
    R3 = gen_tcp:recv(S, 0, 0),
    R4 = gen_tcp:shutdown(S, read_write),
    io:format("shutdown_after_end: ~0p peer=~0p send=~0p recv=~0p rw=~0p alive=~p~n", [R1, P1, R2, R3, R4, alive(S)]),
    gen_tcp:close(S), gen_tcp:close(A).

close_queued_after_end() ->
    {S, A} = pair(),
    ok = inet:setopts(S, [{sndbuf, 4096}, {high_watermark, 1000000}]),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    ok = gen_tcp:shutdown(A, write), settle(),
    {error, closed} = gen_tcp:recv(S, 0, 0),
    ok = gen_tcp:send(S, binary:copy(<<"z">>, 100000)), settle(),
    Q = erlang:port_info(S, queue_size),
    C = gen_tcp:close(S),
    N = drain(A, 0),
    io:format("close_queued_after_end: q=~0p close=~0p peer=~0p~n", [Q, C, N]),
    gen_tcp:close(A).

peer_sees_no_fin() ->
    {S, A} = pair(),
    ok = gen_tcp:shutdown(A, write), settle(),
    {error, closed} = gen_tcp:recv(S, 0, 0), settle(),
    P = gen_tcp:recv(A, 0, 100),
    ok = gen_tcp:close(S),
    io:format("peer_sees_no_fin: before_close=~0p after_close=~0p~n", [P, gen_tcp:recv(A, 0, 100)]),
    gen_tcp:close(A).

drain(A, N) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> drain(A, N + byte_size(B));
        E -> {N, E}
    end.

alive(S) -> erlang:port_info(S) =/= undefined.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
