-module(probe_eoc_busy_recv).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: {exit_on_close,false}, the FIN read, then the port busy (a caller
%% blocked behind the high watermark): what a recv does to the queue and
%% the blocked caller; and a reader waiting.
main() ->
    io:format("~s~n", [erlang:system_info(otp_release)]),
    [run(W) || W <- [recv, reader, active_once]],
    halt().

run(What) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false},
        {sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}, {exit_on_close, false}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    ok = gen_tcp:shutdown(A, write), timer:sleep(40),
    {error, closed} = gen_tcp:recv(S, 0, 0),
    Me = self(),
    spawn(fun() -> Me ! {w1, gen_tcp:send(S, binary:copy(<<"z">>, 100000))} end), timer:sleep(40),
    W2 = spawn(fun() -> Me ! {w2, gen_tcp:send(S, binary:copy(<<"y">>, 100))} end), timer:sleep(40),
    Q0 = erlang:port_info(S, queue_size),
    St0 = process_info(W2, status),
    R = case What of
            recv -> gen_tcp:recv(S, 0, 0);
            reader -> spawn(fun() -> Me ! {reader, gen_tcp:recv(S, 5, infinity)} end), timer:sleep(40), reader_spawned;
            active_once -> inet:setopts(S, [{active, once}])
        end,
    timer:sleep(40),
    Q1 = erlang:port_info(S, queue_size),
    M1 = flush(),
    N = drain(A, 0),
    timer:sleep(40),
    M2 = flush(),
    io:format("~p: q0=~0p w2=~0p r=~0p q1=~0p msgs=~0p peer=~0p then=~0p recv=~0p~n",
              [What, Q0, St0, R, Q1, M1, N, M2, gen_tcp:recv(S, 0, 0)]),
    gen_tcp:close(S), gen_tcp:close(A).

drain(A, N) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> drain(A, N + byte_size(B));
        E -> {N, E}
    end.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
