-module(probe_recv_timeout).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% gen_tcp_api_SUITE:t_recv_timeout's situation, and a recv timeout beside
%% a send blocked on the busy port (the inet driver keeps one timer per
%% port): who gets {error,timeout}, when, and what stays buffered.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [plain(Len, Pre) || {Len, Pre} <- [{0, 0}, {10, 0}, {10, 4}]],
    [busy(Order, ST) || Order <- [send_first, recv_first], ST <- [infinity, 100, 400]],
    halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
now_ms() -> erlang:monotonic_time(millisecond).
plain(Len, Pre) ->
    {S, A} = pair([]),
    case Pre of 0 -> ok; _ -> ok = gen_tcp:send(A, binary:copy(<<1>>, Pre)), timer:sleep(50) end,
    T0 = now_ms(),
    R = gen_tcp:recv(S, Len, 200),
    T1 = now_ms(),
    io:format("plain recv(S,~p,200) with ~p buffered: ~0p after ~p ms; then recv(S,0,0) ~0p~n",
              [Len, Pre, R, T1 - T0, gen_tcp:recv(S, 0, 0)]),
    gen_tcp:close(S), gen_tcp:close(A).
busy(Order, ST) ->
    {S, A} = pair([{high_watermark, 64}, {low_watermark, 16}, {send_timeout, ST}]),
    Self = self(),
    T0 = now_ms(),
    Read = fun() -> spawn(fun() -> R = gen_tcp:recv(S, 0, 200), Self ! {read, R, now_ms() - T0} end) end,
    Send = fun(W) -> spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<7>>, 400000)), Self ! {sent, W, R, now_ms() - T0} end) end,
    case Order of
        send_first -> Send(1), timer:sleep(20), Send(2), timer:sleep(20), Read();
        recv_first -> Read(), timer:sleep(20), Send(1), timer:sleep(20), Send(2)
    end,
    Got = collect(now_ms() + 900),
    io:format("~p send_timeout=~p recv timeout 200: ~0p; qs ~0p~n", [Order, ST, Got, erlang:port_info(S, queue_size)]),
    gen_tcp:close(A), gen_tcp:close(S), collect(now_ms() + 50).
collect(Until) ->
    receive M -> [M | collect(Until)] after max(0, Until - now_ms()) -> [] end.
