-module(probe_shutdown_econnreset).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% Run: erlc FILE.erl && erl -noshell -s MODULE main (see README.md here).
%% A send after gen_tcp:shutdown(S, write) with show_econnreset: made at
%% once (empty queue), pending over queued output, with delay_send, active.
main() -> [case_(C, Show) || C <- [made, made_active, pending, delay_send], Show <- [false, true]], halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {ip, {127,0,0,1}}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
mbox() -> receive M -> [M | mbox()] after 50 -> [] end.
case_(made, Show) ->
    {S, A} = pair([{show_econnreset, Show}]),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    Snd = [gen_tcp:send(S, <<"0123456789">>) || _ <- [1, 2]], Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]],
    io:format("made show_econnreset=~p: ~0p~n", [Show, [R, Snd, Rs]]), gen_tcp:close(S), gen_tcp:close(A);
case_(made_active, Show) ->
    {S, A} = pair([{show_econnreset, Show}, {active, true}]),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    Snd = gen_tcp:send(S, <<"0123456789">>), timer:sleep(20),
    io:format("made_active show_econnreset=~p: ~0p~n", [Show, [R, Snd, mbox()]]), gen_tcp:close(S), gen_tcp:close(A);
case_(pending, Show) ->
    {S, A} = pair([{show_econnreset, Show}, {high_watermark, 1 bsl 20}]),
    ok = gen_tcp:send(S, binary:copy(<<7>>, 200000)),
    Q = erlang:port_info(S, queue_size),
    R = gen_tcp:shutdown(S, write),
    Snd = [gen_tcp:send(S, <<"0123456789">>) || _ <- [1, 2]], Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]],
    io:format("pending show_econnreset=~p: ~0p~n", [Show, [Q, R, Snd, Rs]]), gen_tcp:close(S), gen_tcp:close(A);
case_(delay_send, Show) ->
    {S, A} = pair([{show_econnreset, Show}, {delay_send, true}]),
    R = gen_tcp:shutdown(S, write), timer:sleep(20),
    Snd = gen_tcp:send(S, <<"0123456789">>), timer:sleep(20),
    Snd2 = gen_tcp:send(S, <<"0123456789">>), Rs = [gen_tcp:recv(S, 0, 0) || _ <- [1, 2]],
    io:format("delay_send show_econnreset=~p: ~0p~n", [Show, [R, Snd, Snd2, Rs]]), gen_tcp:close(S), gen_tcp:close(A).
