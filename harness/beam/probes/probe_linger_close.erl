-module(probe_linger_close).
-export([main/0]).
%% Measurement script (sleeps let loopback act): close with output queued
%% in the driver (the peer not reading) under {linger,{true,0}},
%% {linger,{true,1}} and linger off; what close returns and how long it
%% takes, whether the port is gone, what the peer reads; inet and socket.
main() -> [run(B, L) || B <- [inet, socket], L <- [false, {true, 0}, {true, 1}]], halt().
pair(B, Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, B}, binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
qs(S) when is_port(S) -> erlang:port_info(S, queue_size);
qs(_) -> n_a.
drain(A, Acc) -> case gen_tcp:recv(A, 0, 300) of {ok, D} -> drain(A, Acc + byte_size(D)); E -> {Acc, E} end.
run(B, Linger) ->
    {S, A} = pair(B, []),
    Self = self(),
    spawn(fun() -> Self ! {sent, gen_tcp:send(S, binary:copy(<<7>>, 200000))} end),
    timer:sleep(50),
    ok = case Linger of false -> ok; _ -> inet:setopts(S, [{linger, Linger}]) end,
    Q1 = qs(S),
    T0 = erlang:monotonic_time(millisecond),
    C = gen_tcp:close(S),
    T1 = erlang:monotonic_time(millisecond),
    Alive = case S of _ when is_port(S) -> erlang:port_info(S, connected) =/= undefined; _ -> n_a end,
    {Got, End} = drain(A, 0),
    Sent = receive {sent, X} -> X after 2000 -> none end,
    io:format("~p linger=~0p: qs ~0p close ~0p in ~p ms, port alive ~p; peer got ~p then ~0p; the send ~0p~n",
              [B, Linger, Q1, C, T1 - T0, Alive, Got, End, Sent]),
    gen_tcp:close(A).
