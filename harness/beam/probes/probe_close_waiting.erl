-module(probe_close_waiting).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: gen_tcp:close by the owner while a caller is blocked on the busy
%% port (S1) and another sender is suspended (S2); then the peer reads.
main() ->
    io:format("~s~n", [erlang:system_info(otp_release)]),
    [run(Susp, Zero) || Susp <- [false, true], Zero <- [false, true]],
    halt().

run(Susp, Zero) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false},
        {sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    Me = self(),
    T0 = erlang:monotonic_time(millisecond),
    ok = gen_tcp:send(S, binary:copy(<<"a">>, 100000)),
    spawn(fun() -> R = gen_tcp:send(S, <<"b">>), Me ! {s1, R, erlang:monotonic_time(millisecond) - T0} end), timer:sleep(40),
    case Susp of
        true -> spawn(fun() -> R = gen_tcp:send(S, case Zero of true -> <<>>; false -> <<"c">> end),
                               Me ! {s2, R, erlang:monotonic_time(millisecond) - T0} end), timer:sleep(40);
        false -> ok
    end,
    Q0 = erlang:port_info(S, queue_size),
    Closer = spawn(fun() -> R = gen_tcp:close(S), Me ! {closed, R, erlang:monotonic_time(millisecond) - T0} end),
    timer:sleep(40),
    Alive = erlang:port_info(S) =/= undefined,
    M0 = flush(),
    N = drain(A, 0),
    timer:sleep(100),
    M1 = flush(),
    io:format("susp=~p zero=~p: q0=~0p alive_after_close=~p before_read=~0p peer=~0p after=~0p gone=~p~n",
              [Susp, Zero, Q0, Alive, M0, N, M1, erlang:port_info(S) =:= undefined]),
    exit(Closer, kill),
    gen_tcp:close(A).

drain(A, N) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> drain(A, N + byte_size(B));
        E -> {N, E}
    end.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
