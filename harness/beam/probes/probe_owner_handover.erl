-module(probe_owner_handover).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: the adapter's way to kill a port's owner without dying itself:
%% gen_tcp:controlling_process(S, Helper), then exit(Helper, kill) (or a
%% normal exit). Who is linked to the port after the handover; whether the
%% port goes with the helper; an active port's messages in the old owner's
%% mailbox (moved to the helper); a waiting reader; unread input.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Mode, How) || Mode <- [passive, active, reader], How <- [kill, normal]],
    halt().

run(Mode, How) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, Mode =:= active}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{show_econnreset, true}]),
    Me = self(),
    ok = gen_tcp:send(A, <<"hello">>),
    timer:sleep(40),
    Mode =:= reader andalso spawn(fun() -> Me ! {reader, gen_tcp:recv(S, 100, infinity)} end),
    timer:sleep(20),
    Helper = spawn(fun() -> receive stop -> ok end end),
    ok = gen_tcp:controlling_process(S, Helper),
    {links, ML} = process_info(self(), links),
    {links, HL} = process_info(Helper, links),
    Mon = erlang:monitor(port, S),
    case How of kill -> exit(Helper, kill); normal -> Helper ! stop end,
    Down = receive {'DOWN', Mon, port, S, R} -> {down, R} after 2000 -> still_there end,
    Peer = gen_tcp:recv(A, 0, 2000),
    timer:sleep(20),
    io:format("~p ~p: main_linked_to_port=~p helper_linked=~p ~0p peer=~0p main_mailbox=~0p send=~0p recv=~0p setopts=~0p~n",
              [Mode, How, lists:member(S, ML), lists:member(S, HL), Down, Peer, flush(),
               gen_tcp:send(S, <<"x">>), gen_tcp:recv(S, 0, 0), inet:setopts(S, [{active, once}])]),
    gen_tcp:close(A).

flush() -> receive M -> [M | flush()] after 0 -> [] end.
