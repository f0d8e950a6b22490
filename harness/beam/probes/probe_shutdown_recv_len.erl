-module(probe_shutdown_recv_len).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
main() ->
    [run(B) || B <- [inet, socket]],
    [rl(B) || B <- [inet, socket]],
    halt().
pair(B, Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, B}, binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
qs(S) when is_port(S) -> erlang:port_info(S, queue_size);
qs(_) -> n_a.
drain(A, Acc) -> case gen_tcp:recv(A, 0, 200) of {ok, D} -> drain(A, Acc + byte_size(D)); E -> {Acc, E} end.
run(B) ->
    %% shutdown(write) on an empty queue, then send, recv
    {S, A} = pair(B, []),
    ok = gen_tcp:send(A, <<"abc">>),
    R1 = gen_tcp:shutdown(S, write), timer:sleep(20),
    PeerR = gen_tcp:recv(A, 0, 100),
    Snd1 = gen_tcp:send(S, <<"x">>), Snd2 = gen_tcp:send(S, <<"y">>),
    Rcv = gen_tcp:recv(S, 0, 0), Rcv2 = gen_tcp:recv(S, 0, 0),
    G = inet:getopts(S, [active]), Q = qs(S),
    io:format("~p empty: shutdown ~0p peer ~0p sends ~0p recv ~0p getopts ~0p qs ~0p~n", [B, R1, PeerR, [Snd1, Snd2], [Rcv, Rcv2], G, Q]),
    gen_tcp:close(S), gen_tcp:close(A),
    %% shutdown(write) with output queued (peer not reading)
    {S2, A2} = pair(B, []),
    Big = binary:copy(<<7>>, 200000),
    Self = self(),
    spawn(fun() -> Self ! {sent, gen_tcp:send(S2, Big)} end),
    timer:sleep(50),
    Q1 = qs(S2),
    T0 = erlang:monotonic_time(millisecond),
    R2 = gen_tcp:shutdown(S2, write),
    T1 = erlang:monotonic_time(millisecond),
    Q2 = qs(S2),
    Snd3 = gen_tcp:send(S2, <<"z">>),
    {Got, End} = drain(A2, 0),
    Sent = receive {sent, X} -> X after 1000 -> none end,
    io:format("~p queued: qs before ~0p shutdown ~0p (~p ms) qs after ~0p send after ~0p peer got ~p then ~0p; the big send ~0p~n",
              [B, Q1, R2, T1 - T0, Q2, Snd3, Got, End, Sent]),
    gen_tcp:close(S2), gen_tcp:close(A2),
    %% shutdown(read_write)
    {S3, A3} = pair(B, []),
    ok = gen_tcp:send(A3, <<"abc">>), timer:sleep(20),
    R3 = gen_tcp:shutdown(S3, read_write), timer:sleep(20),
    io:format("~p read_write: ~0p peer ~0p recv ~0p send ~0p alive ~p~n", [B, R3, gen_tcp:recv(A3, 0, 100), gen_tcp:recv(S3, 0, 0), gen_tcp:send(S3, <<"q">>), qs(S3)]),
    gen_tcp:close(S3), gen_tcp:close(A3).
rl(B) ->
    {S, A} = pair(B, []),
    ok = gen_tcp:send(A, <<"hello">>), timer:sleep(20),
    R1 = gen_tcp:recv(S, 3, 0), R2 = gen_tcp:recv(S, 5, 0), R3 = gen_tcp:recv(S, 2, 0), R4 = gen_tcp:recv(S, 1, 0),
    ok = gen_tcp:send(A, <<"abc">>), timer:sleep(20),
    ok = gen_tcp:shutdown(A, write), timer:sleep(20),
    R5 = gen_tcp:recv(S, 5, 0), R6 = gen_tcp:recv(S, 0, 0), R7 = gen_tcp:recv(S, 0, 0),
    io:format("~p recv len: ~0p~n", [B, [R1, R2, R3, R4, R5, R6, R7]]),
    gen_tcp:close(S), gen_tcp:close(A).
