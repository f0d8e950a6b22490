-module(probe_recv_wait).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
%% A reader process blocked in gen_tcp:recv(S, Len, infinity) on the inet
%% backend: what returns it (the peer's bytes, FIN, RST, the owner's close,
%% shutdown), and what the owner's own calls meet meanwhile.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [case_(N) || N <- lists:seq(1, 16)],
    halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
reader(S, Len) ->
    Self = self(),
    spawn(fun() -> Self ! {read, gen_tcp:recv(S, Len, infinity)} end).
got() -> receive {read, R} -> short(R) after 300 -> waiting end.
short({ok, B}) when byte_size(B) > 12 -> {ok, byte_size(B)};
short(R) -> R.
r0(S) -> short(gen_tcp:recv(S, 0, 0)).
out(N, What, L) -> io:format("~2w ~s: ~0p~n", [N, What, L]).
case_(1) ->
    {S, A} = pair([]), reader(S, 5),
    W0 = got(), ok = gen_tcp:send(A, <<"abc">>), W1 = got(), ok = gen_tcp:send(A, <<"defgh">>), W2 = got(),
    out(1, "recv 5: nothing, abc, defgh; then recv 0", [W0, W1, W2, r0(S), r0(S)]), close(S, A);
case_(2) ->
    {S, A} = pair([]), reader(S, 0), W0 = got(), ok = gen_tcp:send(A, <<"abc">>), W1 = got(),
    out(2, "recv 0: nothing, abc; then recv 0", [W0, W1, r0(S)]), close(S, A);
case_(3) ->
    {S, A} = pair([]), reader(S, 5), ok = gen_tcp:send(A, <<"abc">>), W1 = got(),
    ok = gen_tcp:shutdown(A, write), W2 = got(),
    out(3, "recv 5, abc, peer FIN; then recv 0 x2, send, setopts active", [W1, W2, r0(S), r0(S), gen_tcp:send(S, <<"x">>), inet:setopts(S, [{active, true}]), flush()]), close(S, A);
case_(4) ->
    {S, A} = pair([]), ok = gen_tcp:send(A, <<"abc">>), ok = gen_tcp:shutdown(A, write), timer:sleep(50),
    reader(S, 4), W = got(),
    out(4, "abc+FIN first, then recv 4; then recv 0 x2", [W, r0(S), r0(S)]), close(S, A);
case_(5) ->
    {S, A} = pair([]), reader(S, 0), W0 = got(), ok = gen_tcp:shutdown(A, write), W1 = got(),
    out(5, "recv 0 waiting, peer FIN; then recv 0", [W0, W1, r0(S)]), close(S, A);
case_(6) ->
    {S, A} = pair([]), reader(S, 5), ok = gen_tcp:send(A, <<"abc">>), W1 = got(),
    ok = inet:setopts(A, [{linger, {true, 0}}]), gen_tcp:close(A), W2 = got(),
    out(6, "recv 5, abc, peer RST; then recv 0 x2", [W1, W2, r0(S), r0(S)]), gen_tcp:close(S);
case_(7) ->
    {S, A} = pair([{show_econnreset, true}]), reader(S, 5), ok = gen_tcp:send(A, <<"abc">>), W1 = got(),
    ok = inet:setopts(A, [{linger, {true, 0}}]), gen_tcp:close(A), W2 = got(),
    out(7, "show_econnreset: recv 5, abc, peer RST; then recv 0 x2", [W1, W2, r0(S), r0(S)]), gen_tcp:close(S);
case_(8) ->
    {S, A} = pair([]), reader(S, 5), W0 = got(), C = gen_tcp:close(S), W1 = got(),
    out(8, "recv 5 waiting, owner closes", [W0, C, W1, peer(A)]), gen_tcp:close(A);
case_(9) ->
    {S, A} = pair([]), reader(S, 5), W0 = got(), R = gen_tcp:shutdown(S, write), W1 = got(),
    ok = gen_tcp:send(A, <<"abcdefg">>), W2 = got(),
    out(9, "recv 5 waiting, shutdown write, peer abcdefg", [W0, R, W1, W2, peer(A), r0(S)]), close(S, A);
case_(10) ->
    {S, A} = pair([]), reader(S, 5), W0 = got(), R = gen_tcp:shutdown(S, read_write), W1 = got(),
    out(10, "recv 5 waiting, shutdown read_write", [W0, R, W1, r0(S), peer(A)]), close(S, A);
case_(11) ->
    {S, A} = pair([]), reader(S, 5), W0 = got(), R = r0(S), R2 = short(gen_tcp:recv(S, 3, 0)),
    ok = gen_tcp:send(A, <<"abcdefg">>), W1 = got(),
    out(11, "recv 5 waiting, owner recv 0, recv 3, peer abcdefg", [W0, R, R2, W1, r0(S)]), close(S, A);
case_(12) ->
    {S, A} = pair([]), reader(S, 5), W0 = got(), R = inet:setopts(S, [{active, true}]), W1 = got(),
    ok = gen_tcp:send(A, <<"abcdefg">>), W2 = got(),
    out(12, "recv 5 waiting, setopts active true, peer abcdefg", [W0, R, W1, W2, flush()]), close(S, A);
case_(13) ->
    {S, A} = pair([]), reader(S, 5), W0 = got(), R = inet:setopts(S, [{active, once}]), W1 = got(),
    ok = gen_tcp:send(A, <<"abcdefg">>), W2 = got(),
    out(13, "recv 5 waiting, setopts active once, peer abcdefg", [W0, R, W1, W2, flush()]), close(S, A);
case_(14) ->
    {S, A} = pair([]), ok = gen_tcp:send(A, <<"abcdefghij">>), timer:sleep(50), reader(S, 4), W1 = got(),
    R1 = short(gen_tcp:recv(S, 4, 0)), R2 = short(gen_tcp:recv(S, 4, 0)),
    out(14, "abcdefghij, recv 4 by reader, recv 4 0, recv 4 0; recv 0", [W1, R1, R2, r0(S)]), close(S, A);
case_(15) ->
    %% a large length: more than one read; a length above the buffer limit
    {S, A} = pair([]), reader(S, 100000), ok = gen_tcp:send(A, binary:copy(<<1>>, 60000)), W1 = got(),
    ok = gen_tcp:send(A, binary:copy(<<2>>, 50000)), W2 = got(),
    out(15, "recv 100000, 60000 then 50000; recv 0", [W1, W2, r0(S)]),
    Big = caught(fun() -> gen_tcp:recv(S, 64 * 1024 * 1024 + 1, 0) end),
    out(15, "recv of 64 MiB + 1", [Big]), close(S, A);
case_(16) ->
    %% the reader dies while waiting; then the owner's recv
    {S, A} = pair([]), P = reader(S, 5), _ = got(), exit(P, kill), timer:sleep(20),
    ok = gen_tcp:send(A, <<"abcdefg">>), timer:sleep(50),
    out(16, "reader killed while waiting, peer abcdefg, recv 0", [r0(S), r0(S)]), close(S, A).
caught(F) -> try F() catch C:E -> {C, E} end.
peer(A) -> short(gen_tcp:recv(A, 0, 200)).
flush() -> receive M -> [M | flush()] after 100 -> [] end.
close(S, A) -> gen_tcp:close(S), gen_tcp:close(A), flush(), ok.
