-module(probe_shutdown_after_reset).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
main() -> [case_(C) || C <- [reset, both_fins]], halt().
pair() ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127,0,0,1}}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
case_(reset) ->
    {S, A} = pair(),
    ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A), timer:sleep(20),
    R = [gen_tcp:shutdown(S, write), gen_tcp:shutdown(S, read_write)],
    io:format("shutdown after the peer's reset: ~0p~n", [R]), gen_tcp:close(S);
case_(both_fins) ->
    {S, A} = pair(),
    ok = gen_tcp:shutdown(A, write), timer:sleep(20),
    R1 = gen_tcp:shutdown(S, write), timer:sleep(20),
    R2 = [gen_tcp:shutdown(S, write), gen_tcp:shutdown(S, read_write)],
    io:format("shutdown after both FINs: ~0p~n", [[R1 | R2]]), gen_tcp:close(S), gen_tcp:close(A).
