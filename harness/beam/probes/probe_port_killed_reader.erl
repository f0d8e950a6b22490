-module(probe_port_killed_reader).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% A reader waiting in recv(S, Len, infinity) on a port killed (the owner
%% unlinked first) while idle, with output queued below the high
%% watermark, and while busy (a caller blocked, with and without a sender
%% suspended): does its recv return? (prim_inet:getstatus before the kill.)
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Load) || Load <- [idle, queued, busy, busy_no_suspended]],
    halt().
run(Load) ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {recbuf, 2304}]),
    {ok, P} = inet:port(L),
    Opts = case Load of queued -> [{high_watermark, 1 bsl 22}]; _ -> [{high_watermark, 64}, {low_watermark, 16}] end,
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4608} | Opts]),
    {ok, A} = gen_tcp:accept(L),
    Me = self(),
    Rd = spawn(fun() -> Me ! {reader, gen_tcp:recv(S, 3901, infinity)} end),
    timer:sleep(20),
    Send = fun(W, N) -> spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<7>>, N)), Me ! {sent, W, R} end) end,
    case Load of
        idle -> ok;
        queued -> Send(first, 300000);
        busy -> Send(first, 40000), timer:sleep(20), Send(caller, 100), timer:sleep(20), Send(suspended, 10);
        busy_no_suspended -> Send(first, 40000), timer:sleep(20), Send(caller, 100)
    end,
    timer:sleep(50),
    {state, St} = {state, caught(fun() -> prim_inet:getstatus(S) end)},
    unlink(S),
    K = erlang:monotonic_time(millisecond),
    exit(S, kill),
    Got = collect(K, 6500),
    io:format("~p (status before ~0p): ~0p; reader ~0p~n", [Load, St, Got,
        case erlang:process_info(Rd, [status, current_function]) of undefined -> gone; I -> I end]),
    exit(Rd, kill),
    gen_tcp:close(A), gen_tcp:close(L).
caught(F) -> try F() catch C:E -> {C, E} end.
collect(K, T) ->
    receive M -> [{erlang:monotonic_time(millisecond) - K, M} | collect(K, T)]
    after T -> []
    end.
