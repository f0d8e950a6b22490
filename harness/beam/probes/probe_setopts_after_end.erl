-module(probe_setopts_after_end).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
main() ->
    [case_(C, O) || C <- [fin, shut_send], O <- [[{high_watermark, 64}, {low_watermark, 16}], [{active, false}], [{delay_send, true}], [{active, -32768}], [{active, once}]]],
    [unread(PeerReadsFirst) || PeerReadsFirst <- [true, false]],
    halt().
%% shutdown(write) made, input left unread, then a send fails the port
%% (SD-3) and its close resets (CL-3): the peer, which has the FIN, reads
%% EOF ({error,closed}), not econnreset, and its send gets epipe.
unread(PeerReadsFirst) ->
    {S, A} = pair(),
    ok = gen_tcp:send(S, <<"hello">>),
    ok = gen_tcp:send(A, <<"abcdefgh">>), timer:sleep(20),
    ok = gen_tcp:shutdown(S, write), timer:sleep(20),
    P0 = case PeerReadsFirst of true -> [gen_tcp:recv(A, 0, 100), gen_tcp:recv(A, 0, 100)]; false -> [] end,
    Snd = gen_tcp:send(S, <<"0123456789">>), timer:sleep(20),
    P = [gen_tcp:recv(A, 0, 100) || _ <- [1, 2, 3]],
    PS = gen_tcp:send(A, <<"x">>), timer:sleep(20), PS2 = gen_tcp:send(A, <<"x">>),
    io:format("unread, peer reads first ~p: ~0p~n", [PeerReadsFirst, [P0, Snd, P, PS, PS2]]),
    gen_tcp:close(S), gen_tcp:close(A).
pair() ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127,0,0,1}}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
mbox() -> receive M -> [M | mbox()] after 50 -> [] end.
alive(S) -> erlang:port_info(S, connected) =/= undefined.
case_(fin, O) ->
    {S, A} = pair(),
    ok = gen_tcp:shutdown(A, write), timer:sleep(20),
    Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]],
    R = inet:setopts(S, O), timer:sleep(20), Al = alive(S), M = mbox(),
    R2 = inet:setopts(S, O), Al2 = alive(S),
    io:format("fin ~0p: ~0p~n", [O, [Rs, R, Al, M, R2, Al2]]), gen_tcp:close(S), gen_tcp:close(A);
case_(shut_send, O) ->
    {S, A} = pair(),
    ok = gen_tcp:send(A, <<"abcdefgh">>), timer:sleep(20),
    ok = gen_tcp:shutdown(S, write), timer:sleep(20),
    R0 = gen_tcp:recv(S, 0, 0),
    Snd = gen_tcp:send(S, <<"0123456789">>), timer:sleep(20),
    Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]],
    R = inet:setopts(S, O), timer:sleep(20), Al = alive(S), M = mbox(),
    R2 = inet:setopts(S, O), Al2 = alive(S),
    io:format("shut_send ~0p: ~0p~n", [O, [R0, Snd, Rs, R, Al, M, R2, Al2]]), gen_tcp:close(S), gen_tcp:close(A).
