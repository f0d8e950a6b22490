-module(probe_timeout_close_active).
-export([main/0]).
%% Measurement script (sleeps let loopback and the send timer act): a busy
%% port with a blocked caller and a suspended sender when send_timeout fires
%% with send_timeout_close; the port passive, {active,once} or true.
main() -> [run(Act) || Act <- [false, once, true]], halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
run(Act) ->
    {S, A} = pair([{high_watermark, 64}, {low_watermark, 16}, {sndbuf, 4096}, {send_timeout_close, true}]),
    Self = self(),
    ok = inet:setopts(S, [{active, Act}]),
    ok = gen_tcp:send(S, binary:copy(<<"a">>, 300000)),
    ok = inet:setopts(S, [{send_timeout, 300}]),
    P1 = spawn(fun() -> Self ! {p1, gen_tcp:send(S, <<"b">>)} end), timer:sleep(20),
    P2 = spawn(fun() -> Self ! {p2, gen_tcp:send(S, <<"c">>)} end), timer:sleep(20),
    St = [process_info(P1, status), process_info(P2, status)],
    timer:sleep(600),
    Alive = erlang:port_info(S, connected) =/= undefined,
    R = (catch gen_tcp:send(S, <<"d">>)),
    io:format("active=~p: ~0p -> ~0p port_alive=~p next_send=~0p~n", [Act, St, flush(), Alive, R]),
    gen_tcp:close(S), gen_tcp:close(A).
flush() -> receive Msg -> [Msg | flush()] after 0 -> [] end.
