-module(probe_port_killed_caller).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% A gen_tcp port killed (exit(Port, kill), its owner unlinked first) while
%% a caller is blocked on it (its send crossed the high watermark onto a
%% non-empty queue) and a sender is suspended on the busy port, and with
%% the caller alone: when each gets what; then what send, recv, setopts,
%% getopts and close answer on the killed port.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    busy(), caller_only(), idle(),
    halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), unlink(S), {S, A}.
now_ms() -> erlang:monotonic_time(millisecond).
busy() ->
    {S, A} = pair([{high_watermark, 400000}, {low_watermark, 1000}]),
    Me = self(),
    Send = fun(W, N) -> spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<7>>, N)), Me ! {sent, W, R, now_ms()} end) end,
    Send(first, 300000), timer:sleep(50),
    Send(caller, 200000), timer:sleep(50),
    Send(suspended, 100), timer:sleep(50),
    Q = erlang:port_info(S, queue_size),
    Pre = flush(),
    K = now_ms(),
    exit(S, kill),
    timer:sleep(5500),
    Got = [case M of {sent, W, R, T} -> {W, R, T - K}; _ -> M end || M <- flush()],
    io:format("busy: queue ~0p; before the kill ~0p; after (ms from the kill) ~0p~n", [Q, [element(2, M) || M <- Pre], Got]),
    gen_tcp:close(A).
caller_only() ->
    {S, A} = pair([{high_watermark, 64}, {low_watermark, 16}]),
    Me = self(),
    Send = fun(W, N) -> spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<7>>, N)), Me ! {sent, W, R, now_ms()} end) end,
    Send(first, 300000), timer:sleep(50),
    Send(caller, 100), timer:sleep(50),
    Pre = flush(),
    K = now_ms(),
    exit(S, kill),
    timer:sleep(5500),
    Got = [case M of {sent, W, R, T} -> {W, R, T - K}; _ -> M end || M <- flush()],
    io:format("caller only (its send crossed the high watermark, WM-3): before the kill ~0p; after (ms from the kill) ~0p~n", [[element(2, M) || M <- Pre], Got]),
    gen_tcp:close(A).
idle() ->
    {S, A} = pair([]),
    exit(S, kill), timer:sleep(50),
    io:format("idle, killed: send ~0p; recv ~0p; setopts ~0p; getopts ~0p; close ~0p; queue ~0p~n",
              [gen_tcp:send(S, <<"x">>), gen_tcp:recv(S, 0, 0), inet:setopts(S, [{active, once}]),
               inet:getopts(S, [active]), gen_tcp:close(S), erlang:port_info(S, queue_size)]),
    gen_tcp:close(A).
flush() -> receive M -> [M | flush()] after 0 -> [] end.
