-module(probe_peer_end).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
%% Probe: peer FIN / RST seen by a gen_tcp port, passive and active.
main() ->
    [run(B, Mode, Peer, Sre) || B <- [inet, socket], Mode <- [passive, true, once],
                                Peer <- [fin, rst], Sre <- [false, true]],
    halt().

pair(B, Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, B}, binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L),
    gen_tcp:close(L),
    {S, A}.

run(B, Mode, Peer, Sre) ->
    {S, A} = pair(B, [{show_econnreset, Sre}]),
    ok = gen_tcp:send(A, <<"hello">>),
    timer:sleep(50),
    case Peer of
        fin -> ok = gen_tcp:shutdown(A, write);
        rst -> ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A)
    end,
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
    io:format("~p ~p peer=~p sre=~p: ~0p alive_after=~p sends=~0p~n", [B, Mode, Peer, Sre, R, Alive, [Send, Send2]]),
    try gen_tcp:close(S) catch _:_ -> ok end, try gen_tcp:close(A) catch _:_ -> ok end.

alive(S) when is_port(S) -> erlang:port_info(S) =/= undefined;
alive({'$inet', gen_tcp_socket, {Pid, _}}) -> is_process_alive(Pid).

flush() -> receive M -> [M | flush()] after 0 -> [] end.
