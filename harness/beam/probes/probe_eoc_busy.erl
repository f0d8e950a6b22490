-module(probe_eoc_busy).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: does a port whose read side the peer's FIN closed
%% ({exit_on_close,false}) still go busy over its high watermark?
main() ->
    io:format("~s~n", [erlang:system_info(otp_release)]),
    [run(Eoc, End, Order) || Eoc <- [true, false], End <- [none, fin], Order <- [wm_first, wm_after]],
    halt().

run(Eoc, End, Order) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    Opts = [{sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}],
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false}]
                              ++ case Order of wm_first -> Opts; wm_after -> [] end),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    ok = inet:setopts(S, [{exit_on_close, Eoc}]),
    case Order of wm_after -> ok = inet:setopts(S, Opts); _ -> ok end,
    case End of
        fin -> ok = gen_tcp:shutdown(A, write), timer:sleep(40), {error, closed} = gen_tcp:recv(S, 0, 0);
        none -> ok
    end,
    Me = self(),
    W1 = spawn(fun() -> Me ! {w1, gen_tcp:send(S, binary:copy(<<"z">>, 100000))} end), timer:sleep(40),
    W2 = spawn(fun() -> Me ! {w2, gen_tcp:send(S, <<"y">>)} end), timer:sleep(40),
    Q = erlang:port_info(S, queue_size),
    St = [process_info(W, status) || W <- [W1, W2]],
    M = flush(),
    io:format("eoc=~p end=~p ~p: q=~0p status=~0p msgs=~0p wm=~0p~n", [Eoc, End, Order, Q, St, M,
              inet:getopts(S, [high_watermark, low_watermark, sndbuf])]),
    exit(W1, kill), exit(W2, kill),
    gen_tcp:close(S), gen_tcp:close(A).

flush() -> receive M -> [M | flush()] after 0 -> [] end.
