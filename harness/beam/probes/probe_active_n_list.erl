-module(probe_active_n_list).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
main() ->
    [run(B, L) || B <- [inet, socket], L <- [[{active,0},{active,0}], [{active,0}], [{active,2},{active,-2}], [{active,-2},{active,2}], [{active,0},{active,0},{active,0}], [{active,1},{active,0}], [{active,0},{active,once}]]],
    halt().
run(B, List) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, B}, binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    R = inet:setopts(S, List), timer:sleep(20),
    M = flush(), G = inet:getopts(S, [active]),
    io:format("~p ~0p: ~0p ~0p ~0p~n", [B, List, R, [element(1, X) || X <- M], G]),
    gen_tcp:close(S), gen_tcp:close(A).
flush() -> receive Msg -> [Msg | flush()] after 0 -> [] end.
