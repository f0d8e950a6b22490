-module(probe_owner_killed).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: the port's owner (the process that connected it, linked to it)
%% is killed, exit(Owner, kill), with the port idle, with input unread,
%% with output queued below the high watermark, busy with a blocked caller
%% and a suspended sender, with a reader waiting. What the port does (in
%% the table? its queue), what the peer reads, what the others get.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Load, How) || Load <- [idle, unread, queued, busy, reader], How <- [kill, normal]],
    halt().

run(Load, How) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    Me = self(),
    Owner = spawn(fun() ->
        {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false},
            {sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}]),
        Me ! {sock, S},
        receive stop -> ok end
    end),
    S = receive {sock, S0} -> S0 end,
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    T0 = erlang:monotonic_time(millisecond),
    case Load of
        idle -> ok;
        unread -> ok = gen_tcp:send(A, <<"unread">>), timer:sleep(40);
        queued -> ok = gen_tcp:send(S, binary:copy(<<"q">>, 20000)), timer:sleep(40);
        busy ->
            ok = gen_tcp:send(S, binary:copy(<<"a">>, 100000)),
            spawn(fun() -> R = gen_tcp:send(S, <<"b">>), Me ! {caller, R, erlang:monotonic_time(millisecond) - T0} end),
            timer:sleep(40),
            spawn(fun() -> R = gen_tcp:send(S, <<"c">>), Me ! {suspended, R, erlang:monotonic_time(millisecond) - T0} end),
            timer:sleep(40);
        reader ->
            spawn(fun() -> R = gen_tcp:recv(S, 10, infinity), Me ! {reader, R, erlang:monotonic_time(millisecond) - T0} end),
            timer:sleep(40)
    end,
    Q0 = erlang:port_info(S, queue_size),
    case How of
        kill -> exit(Owner, kill);
        normal -> Owner ! stop
    end,
    timer:sleep(40),
    Info = case erlang:port_info(S) of undefined -> gone; I -> {alive, proplists:get_value(connected, I), erlang:port_info(S, queue_size)} end,
    M0 = flush(),
    Send = try gen_tcp:send(S, <<"late">>) catch C:E -> {C, E} end,
    N = drain(A, 0),
    timer:sleep(100),
    M1 = flush(),
    io:format("~p ~p: q0=~0p after_kill=~0p msgs=~0p late_send=~0p peer=~0p after=~0p gone=~p~n",
              [Load, How, Q0, Info, M0, Send, N, M1, erlang:port_info(S) =:= undefined]),
    gen_tcp:close(A).

drain(A, N) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> drain(A, N + byte_size(B));
        E -> {N, E}
    end.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
