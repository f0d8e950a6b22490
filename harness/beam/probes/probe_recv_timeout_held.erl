-module(probe_recv_timeout_held).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% What a timed-out recv leaves in the inet driver's buffer, and whether
%% delay_send's flush shares the driver's one timer with a recv timeout.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    held(),
    delay(),
    halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
now_ms() -> erlang:monotonic_time(millisecond).
held() ->
    {S, A} = pair([]),
    ok = gen_tcp:send(A, <<1,2,3,4>>), timer:sleep(50),
    R1 = gen_tcp:recv(S, 10, 0),
    R1b = gen_tcp:recv(S, 10, 30),
    ok = gen_tcp:send(A, <<5,6,7,8,9,10>>), timer:sleep(50),
    R2 = gen_tcp:recv(S, 0, 0),
    R3 = gen_tcp:recv(S, 0, 0),
    io:format("held: recv(10,0) ~0p recv(10,30) ~0p; peer +6; recv(0,0) ~0p; recv(0,0) ~0p~n", [R1, R1b, R2, R3]),
    ok = gen_tcp:send(A, <<1,2,3>>), timer:sleep(50),
    _ = gen_tcp:recv(S, 5, 10),
    ok = gen_tcp:send(A, <<4,5,6,7>>), timer:sleep(50),
    io:format("held: 3 held, peer +4: recv(5,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S, 5, 0), gen_tcp:recv(S, 0, 0)]),
    ok = gen_tcp:send(A, <<1,2>>), timer:sleep(50),
    _ = gen_tcp:recv(S, 5, 10),
    ok = inet:setopts(S, [{active, once}]),
    io:format("held: 2 held, active once: ~0p~n", [receive M -> M after 100 -> none end]),
    ok = gen_tcp:send(A, <<1,2>>), timer:sleep(50),
    _ = gen_tcp:recv(S, 5, 10),
    gen_tcp:close(A), timer:sleep(50),
    io:format("held: 2 held, peer closed: recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 0, 0)]),
    gen_tcp:close(S).
delay() ->
    {S, A} = pair([{delay_send, true}]),
    Self = self(),
    T0 = now_ms(),
    spawn(fun() -> R = gen_tcp:recv(S, 0, 200), Self ! {read, R, now_ms() - T0} end),
    timer:sleep(20),
    ok = gen_tcp:send(S, <<"abc">>),
    io:format("delay_send: recv(0,200) then a send: ~0p; peer got ~0p~n",
              [receive M -> M after 600 -> none end, gen_tcp:recv(A, 0, 100)]),
    gen_tcp:close(S), gen_tcp:close(A).
