-module(probe_recv_timeout_zero).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% What a recv with a length and a timeout of 0 leaves behind when it times
%% out (DIFF-INET-12): the driver's request stays open (i_remain), so a
%% later recv(S,0,_) waits for the bytes it missed and returns them all;
%% a recv with a length replaces it; a timer's timeout ends it. Letters
%% name the sequences; A is the peer.
pair() ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
r(S, L, T) -> Self = self(), spawn(fun() -> Self ! {r, gen_tcp:recv(S, L, T)} end), receive {r, R} -> R end.
w(A, N) -> ok = gen_tcp:send(A, list_to_binary(lists:seq(1, N))), timer:sleep(50).
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    held_then_more(),
    nothing_then_more(),
    halt().
held_then_more() ->
    {S, A} = pair(), w(A, 4),
    io:format("E: +4; recv(10,0) ~0p; ", [r(S, 10, 0)]), w(A, 10),
    io:format("+10; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 0, 0)]),
    {S2, A2} = pair(), w(A2, 4),
    io:format("F: +4; recv(10,0) ~0p; recv(5,0) ~0p; recv(3,0) ~0p; recv(0,0) ~0p~n", [r(S2, 10, 0), r(S2, 5, 0), r(S2, 3, 0), gen_tcp:recv(S2, 0, 0)]),
    {S3, A3} = pair(), w(A3, 4),
    io:format("G: +4; recv(10,0) ~0p; recv(2,0) ~0p; recv(0,0) ~0p; recv(0,0) ~0p~n", [r(S3, 10, 0), r(S3, 2, 0), gen_tcp:recv(S3, 0, 0), gen_tcp:recv(S3, 0, 0)]),
    {S4, A4} = pair(), w(A4, 4),
    io:format("H: +4; recv(10,0) ~0p; ", [r(S4, 10, 0)]),
    Self = self(), spawn(fun() -> Self ! {h, gen_tcp:recv(S4, 10, infinity)} end), timer:sleep(20), w(A4, 6),
    io:format("reader recv(10,inf) then +6: ~0p; recv(0,0) ~0p~n", [receive {h, X} -> X after 500 -> none end, gen_tcp:recv(S4, 0, 0)]),
    {S5, A5} = pair(), w(A5, 4),
    io:format("I: +4; recv(10,0) ~0p; ", [r(S5, 10, 0)]), w(A5, 3),
    io:format("+3; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S5, 0, 0), gen_tcp:recv(S5, 0, 0)]),
    {S6, A6} = pair(), w(A6, 4),
    io:format("J: +4; recv(10,0) ~0p; recv(0,100) ~0p; recv(0,0) ~0p~n", [r(S6, 10, 0), r(S6, 0, 100), gen_tcp:recv(S6, 0, 0)]),
    {S7, A7} = pair(), w(A7, 4),
    io:format("K: +4; recv(10,0) ~0p; ", [r(S7, 10, 0)]),
    spawn(fun() -> Self ! {k, gen_tcp:recv(S7, 0, infinity)} end), timer:sleep(20), w(A7, 3),
    io:format("reader recv(0,inf) then +3: ~0p; recv(0,0) ~0p~n", [receive {k, Y} -> Y after 500 -> none end, gen_tcp:recv(S7, 0, 0)]),
    {S8, A8} = pair(), w(A8, 4),
    io:format("L: +4; recv(10,0) ~0p; ", [r(S8, 10, 0)]), gen_tcp:close(A8), timer:sleep(50),
    io:format("FIN; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S8, 0, 0), gen_tcp:recv(S8, 0, 0)]).
nothing_then_more() ->
    {S, A} = pair(),
    io:format("M: recv(10,0) ~0p; ", [r(S, 10, 0)]), w(A, 4),
    io:format("+4; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S, 0, 0), gen_tcp:recv(S, 0, 0)]),
    {S2, A2} = pair(),
    io:format("N: recv(10,0) ~0p; ", [r(S2, 10, 0)]), w(A2, 12),
    io:format("+12; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S2, 0, 0), gen_tcp:recv(S2, 0, 0)]),
    {S3, A3} = pair(), w(A3, 4),
    io:format("O: +4; recv(10,0) ~0p; recv(10,0) ~0p; ", [r(S3, 10, 0), r(S3, 10, 0)]), w(A3, 8),
    io:format("+8; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S3, 0, 0), gen_tcp:recv(S3, 0, 0)]),
    {S4, A4} = pair(), w(A4, 4),
    io:format("P: +4; recv(10,0) ~0p; recv(6,0) ~0p; ", [r(S4, 10, 0), r(S4, 6, 0)]), w(A4, 8),
    io:format("+8; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S4, 0, 0), gen_tcp:recv(S4, 0, 0)]),
    {S5, A5} = pair(), w(A5, 4),
    io:format("Q: +4; recv(10,0) ~0p; recv(20,0) ~0p; ", [r(S5, 10, 0), r(S5, 20, 0)]), w(A5, 20),
    io:format("+20; recv(0,0) ~0p; recv(0,0) ~0p~n", [gen_tcp:recv(S5, 0, 0), gen_tcp:recv(S5, 0, 0)]),
    {S6, A6} = pair(), w(A6, 4),
    io:format("R: +4; recv(10,0) ~0p; recv(0,0) ~0p; recv(4,0) ~0p; recv(0,0) ~0p~n", [r(S6, 10, 0), gen_tcp:recv(S6, 0, 0), r(S6, 4, 0), gen_tcp:recv(S6, 0, 0)]).
