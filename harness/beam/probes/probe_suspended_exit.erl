-module(probe_suspended_exit).
-export([main/0]).
%% Measurement script (sleeps let loopback act): a port busy with a blocked
%% caller and a suspended sender when the peer resets; active and passive.
main() -> [run(Act, Sre) || Act <- [false, true], Sre <- [false, true]], halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
run(Act, Sre) ->
    {S, A} = pair([{show_econnreset, Sre}, {high_watermark, 64}, {low_watermark, 16}, {sndbuf, 4096}]),
    Self = self(),
    ok = gen_tcp:send(S, binary:copy(<<"a">>, 200000)),
    P1 = spawn(fun() -> Self ! {p1, gen_tcp:send(S, <<"b">>)} end), timer:sleep(20),
    P2 = spawn(fun() -> Self ! {p2, gen_tcp:send(S, <<"c">>)} end), timer:sleep(20),
    St = [process_info(P1, status), process_info(P2, status)],
    ok = inet:setopts(S, [{active, Act}]),
    ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A), timer:sleep(50),
    io:format("active=~p sre=~p: ~0p -> ~0p~n", [Act, Sre, St, flush()]),
    gen_tcp:close(S).
flush() -> receive Msg -> [Msg | flush()] after 0 -> [] end.
