-module(probe_shutdown).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
main() ->
    [case_(C) || C <- [empty, pending_busy, pending_send, rdwr_passive, rdwr_active,
                        delay_send, delay_send_active, active_send, pending_active, shut_twice, after_end]],
    halt().
pair(Opts) ->
    {ok, L} = socket:open(inet, stream, tcp),
    ok = socket:setopt(L, {socket, rcvbuf}, 4096),
    ok = socket:bind(L, #{family => inet, addr => {127,0,0,1}, port => 0}),
    ok = socket:listen(L),
    {ok, #{port := P}} = socket:sockname(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = socket:accept(L), socket:close(L), {S, {peer, A}}.
qs(S) -> erlang:port_info(S, queue_size).
drain({peer, A}, Acc) -> case socket:recv(A, 0, [], 300) of {ok, D} -> drain({peer, A}, Acc + byte_size(D)); E -> {Acc, E} end.
mbox() -> receive M -> [M | mbox()] after 50 -> [] end.
big_send(S, N) -> Self = self(), spawn(fun() -> Self ! {sent, gen_tcp:send(S, binary:copy(<<7>>, N))} end), timer:sleep(50).
psend({peer, A}, D) -> socket:send(A, D).
pclose({peer, A}) -> socket:close(A).
pshut({peer, A}) -> socket:shutdown(A, write).
sent() -> receive {sent, X} -> X after 1000 -> none end.
out(C, L) -> io:format("~p: ~0p~n", [C, L]).
case_(empty) ->
    {S, A} = pair([]),
    ok = psend(A, <<"abc">>), ok = gen_tcp:send(S, <<"hello">>), timer:sleep(20),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    P1 = drain(A, 0),
    ok = psend(A, <<"de">>), timer:sleep(20),
    R1 = gen_tcp:recv(S, 0, 0), Q = qs(S),
    ok = pshut(A), timer:sleep(20),
    R2 = gen_tcp:recv(S, 0, 0), R3 = gen_tcp:recv(S, 0, 0), Snd = gen_tcp:send(S, <<"x">>),
    out(empty, [R, {peer, P1}, R1, Q, R2, R3, Snd]), gen_tcp:close(S), pclose(A);
case_(pending_busy) ->
    {S, A} = pair([]),
    big_send(S, 200000), Q1 = qs(S),
    R = gen_tcp:shutdown(S, write), Q2 = qs(S),
    {Got, End} = drain(A, 0), Snt = sent(), Q3 = qs(S),
    R1 = gen_tcp:recv(S, 0, 0),
    out(pending_busy, [Q1, R, Q2, {peer, Got, End}, {sender, Snt}, Q3, R1]), gen_tcp:close(S), pclose(A);
case_(pending_send) ->
    {S, A} = pair([{high_watermark, 1 bsl 20}]),
    ok = psend(A, <<"abc">>),
    big_send(S, 200000), Snt = sent(), Q1 = qs(S),
    R = gen_tcp:shutdown(S, write),
    Snd = gen_tcp:send(S, <<"z">>), Q2 = qs(S),
    Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]], Snd2 = gen_tcp:send(S, <<"z">>),
    {Got, End} = drain(A, 0),
    out(pending_send, [Snt, Q1, R, Snd, Q2, Rs, Snd2, {peer, Got, End}, {owner, mbox()}]), gen_tcp:close(S), pclose(A);
case_(rdwr_passive) ->
    {S, A} = pair([]),
    ok = psend(A, <<"abc">>), ok = gen_tcp:send(S, <<"hi">>), timer:sleep(20),
    R = gen_tcp:shutdown(S, read_write), timer:sleep(20),
    P1 = drain(A, 0),
    Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2, 3]], Q = qs(S), Snd = gen_tcp:send(S, <<"x">>),
    G = inet:getopts(S, [active]),
    out(rdwr_passive, [R, {peer, P1}, Rs, Q, Snd, G]), gen_tcp:close(S), pclose(A);
case_(rdwr_active) ->
    {S, A} = pair([]),
    ok = psend(A, <<"abc">>), timer:sleep(20),
    ok = inet:setopts(S, [{active, true}]), timer:sleep(20), M0 = mbox(),
    R = gen_tcp:shutdown(S, read_write), timer:sleep(20),
    out(rdwr_active, [M0, R, mbox(), qs(S), drain(A, 0)]), gen_tcp:close(S), pclose(A);
case_(delay_send) ->
    {S, A} = pair([{delay_send, true}]),
    ok = psend(A, <<"abc">>), timer:sleep(20),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    Snd1 = gen_tcp:send(S, <<"x">>), timer:sleep(20), Q = qs(S),
    Snd2 = gen_tcp:send(S, <<"y">>), Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]], Snd3 = gen_tcp:send(S, <<"z">>),
    out(delay_send, [R, Snd1, Q, Snd2, Rs, Snd3, drain(A, 0)]), gen_tcp:close(S), pclose(A);
case_(delay_send_active) ->
    {S, A} = pair([{delay_send, true}, {active, true}]),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    Snd1 = gen_tcp:send(S, <<"x">>), timer:sleep(20),
    out(delay_send_active, [R, Snd1, mbox(), qs(S), gen_tcp:send(S, <<"y">>)]), gen_tcp:close(S), pclose(A);
case_(active_send) ->
    {S, A} = pair([{active, true}]),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    Snd1 = gen_tcp:send(S, <<"x">>), timer:sleep(20),
    out(active_send, [R, Snd1, mbox(), qs(S)]), gen_tcp:close(S), pclose(A);
case_(pending_active) ->
    {S, A} = pair([{active, true}, {high_watermark, 1 bsl 20}]),
    big_send(S, 200000), Snt = sent(),
    R = gen_tcp:shutdown(S, write),
    {Got, End} = drain(A, 0), Q = qs(S), M = mbox(),
    ok = psend(A, <<"ab">>), pclose(A), timer:sleep(30),
    out(pending_active, [Snt, R, {peer, Got, End}, Q, M, mbox(), qs(S)]), gen_tcp:close(S);
case_(shut_twice) ->
    {S, A} = pair([]),
    R1 = gen_tcp:shutdown(S, write), R2 = gen_tcp:shutdown(S, write), R3 = gen_tcp:shutdown(S, read_write),
    timer:sleep(20),
    out(shut_twice, [R1, R2, R3, drain(A, 0), gen_tcp:recv(S, 0, 0)]), gen_tcp:close(S), pclose(A);
case_(after_end) ->
    {S, A} = pair([]),
    pclose(A), timer:sleep(20),
    R0 = gen_tcp:recv(S, 0, 0),
    R1 = gen_tcp:shutdown(S, write),
    ok = gen_tcp:close(S),
    R2 = gen_tcp:shutdown(S, write),
    out(after_end, [R0, R1, R2]).
