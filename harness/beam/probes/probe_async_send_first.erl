-module(probe_async_send_first).
-export([main/0]).
%% Measurement script (sleeps let loopback act): output queued, peer RST,
%% then a send before any recv; and delay_send onto an empty queue.
main() ->
    [run(Sre, Ds) || Sre <- [false, true], Ds <- [false, true]], halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
run(Sre, Ds) ->
    {S, A} = pair([{show_econnreset, Sre}, {high_watermark, 8000000}, {low_watermark, 4000000}, {sndbuf, 65536}, {delay_send, Ds}]),
    ok = gen_tcp:send(S, binary:copy(<<"a">>, 2000000)), timer:sleep(30), Q0 = erlang:port_info(S, queue_size),
    ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A), timer:sleep(50),
    Q1 = erlang:port_info(S, queue_size),
    S1 = gen_tcp:send(S, <<"x">>), S2 = gen_tcp:send(S, <<"y">>),
    R1 = gen_tcp:recv(S, 0, 0), R2 = gen_tcp:recv(S, 0, 0), M = flush(),
    %% a fresh pair: peer RST on an idle port, then a send with delay_send
    {S3, A3} = pair([{show_econnreset, Sre}, {delay_send, Ds}]),
    ok = inet:setopts(A3, [{linger, {true, 0}}]), ok = gen_tcp:close(A3), timer:sleep(50),
    T1 = gen_tcp:send(S3, <<"x">>), timer:sleep(20), T2 = gen_tcp:send(S3, <<"y">>),
    U1 = gen_tcp:recv(S3, 0, 0), U2 = gen_tcp:recv(S3, 0, 0), M3 = flush(),
    io:format("sre=~p delay_send=~p: q ~p ~p sends ~0p ~0p recvs ~0p ~0p msgs ~0p | idle: sends ~0p ~0p recvs ~0p ~0p msgs ~0p~n",
              [Sre, Ds, Q0, Q1, S1, S2, R1, R2, M, T1, T2, U1, U2, M3]),
    gen_tcp:close(S), gen_tcp:close(S3).
flush() -> receive Msg -> [Msg | flush()] after 0 -> [] end.
