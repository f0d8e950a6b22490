-module(probe_after_end).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
main() ->
    [run(B, Peer, Sre) || B <- [inet, socket], Peer <- [fin, rst], Sre <- [false, true]],
    halt().
pair(B, Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, B}, binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
qs(S) when is_port(S) -> erlang:port_info(S, queue_size);
qs(_) -> n_a.
run(B, Peer, Sre) ->
    {S, A} = pair(B, [{show_econnreset, Sre}]),
    ok = gen_tcp:send(A, <<"hello">>), timer:sleep(30),
    case Peer of fin -> ok = gen_tcp:shutdown(A, write);
                 rst -> ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A) end,
    timer:sleep(30),
    R1 = gen_tcp:recv(S, 0, 0), R2 = gen_tcp:recv(S, 0, 0),
    G = inet:getopts(S, [active, high_watermark]), Q = qs(S),
    SO = inet:setopts(S, [{active, true}]), timer:sleep(30), M = flush(),
    R3 = gen_tcp:recv(S, 0, 0),
    C = gen_tcp:close(S), C2 = gen_tcp:close(S),
    %% active N on a fresh pair: count 1, data, passive, re-arm
    {S2, A2} = pair(B, [{show_econnreset, Sre}]),
    ok = gen_tcp:send(A2, <<"hello">>), timer:sleep(30),
    case Peer of fin -> ok = gen_tcp:shutdown(A2, write);
                 rst -> ok = inet:setopts(A2, [{linger, {true, 0}}]), ok = gen_tcp:close(A2) end,
    timer:sleep(30),
    ok = inet:setopts(S2, [{active, 1}]), timer:sleep(30), M1 = flush(),
    SO2 = inet:setopts(S2, [{active, 2}]), timer:sleep(30), M2 = flush(),
    G2 = inet:getopts(S2, [active]), Q2 = qs(S2), C3 = gen_tcp:close(S2),
    io:format("~p ~p sre=~p: passive ~0p getopts ~0p qs ~0p setopts_active ~0p msgs ~0p recv ~0p close ~0p~n   activeN: ~0p setopts2 ~0p ~0p getopts ~0p qs ~0p close ~0p~n",
              [B, Peer, Sre, [R1, R2], G, Q, SO, M, R3, [C, C2], M1, SO2, M2, G2, Q2, C3]).
flush() -> receive Msg -> [Msg | flush()] after 0 -> [] end.
