-module(probe_owner_killed_queued).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: the owner of a port with output queued below the high watermark
%% (no sender waiting) is killed while the peer does not read; 300 ms
%% later the peer reads everything. When does the port leave the table?
%% Then the same with a second send by another process, queued below the
%% high watermark too (its ok is due at once), just before the death.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Caller) || Caller <- [false, true]],
    halt().

run(Caller) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    Me = self(),
    Owner = spawn(fun() ->
        {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false},
            {sndbuf, 4096}, {high_watermark, 200000}, {low_watermark, 4096}]),
        Me ! {sock, S},
        receive stop -> ok end
    end),
    S = receive {sock, S0} -> S0 end,
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    T0 = erlang:monotonic_time(millisecond),
    T = fun() -> erlang:monotonic_time(millisecond) - T0 end,
    ok = gen_tcp:send(S, binary:copy(<<"a">>, 100000)),
    case Caller of
        true -> spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<"b">>, 150000)), Me ! {caller, R, T()} end);
        false -> ok = gen_tcp:send(S, binary:copy(<<"b">>, 1000))
    end,
    timer:sleep(40),
    Q0 = erlang:port_info(S, queue_size),
    exit(Owner, kill),
    spawn(fun() -> watch(S, Me, T) end),
    timer:sleep(300),
    M0 = flush(),
    N = drain(A, 0, T),
    timer:sleep(300),
    M1 = flush(),
    io:format("caller=~p: q0=~0p before_read(340ms)=~0p peer=~0p after=~0p~n", [Caller, Q0, M0, N, M1]),
    gen_tcp:close(A).

watch(S, Me, T) ->
    case erlang:port_info(S, queue_size) of
        undefined -> Me ! {port_gone, T()};
        _ -> timer:sleep(1), watch(S, Me, T)
    end.

drain(A, N, T) ->
    case gen_tcp:recv(A, 0, 8000) of
        {ok, B} -> drain(A, N + byte_size(B), T);
        E -> {N, E, T()}
    end.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
