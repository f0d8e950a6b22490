-module(probe_port_killed).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% busy_port_SUITE:no_trap_exit/no_trap_exit_unlinked/trap_exit on a
%% gen_tcp port: the port killed (exit(Port, kill), or exit(Port, die))
%% by another process, idle, with unread input, with output queued, busy
%% with a sender suspended (the send that made it busy returned), with a
%% reader waiting: what the owner (linked; it traps exits, or not), the
%% senders, the reader and the peer (its bytes, then the error) see.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Load, Trap, Reason) || Load <- [idle, unread, queued, busy, reader], Trap <- [false, true], Reason <- [kill, die]],
    halt().
run(Load, Trap, Reason) ->
    Main = self(),
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}, {show_econnreset, true}]),
    {ok, P} = inet:port(L),
    Owner = spawn(fun() ->
        process_flag(trap_exit, Trap),
        Opts = case Load of busy -> [{high_watermark, 64}, {low_watermark, 16}]; _ -> [{high_watermark, 1 bsl 22}] end,
        {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096} | Opts]),
        Main ! {port, S},
        receive stop -> ok end,
        Main ! {owner_mailbox, flush()}
    end),
    S = receive {port, S0} -> S0 end,
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    Me = self(),
    case Load of
        unread -> ok = gen_tcp:send(A, <<"unread">>);
        queued -> spawn(fun() -> Me ! {sent, q, gen_tcp:send(S, binary:copy(<<7>>, 300000))} end);
        busy ->
            spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<7>>, 300000)), Me ! {sent, caller, R, erlang:monotonic_time(millisecond)} end),
            timer:sleep(30),
            spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<8>>, 100)), Me ! {sent, suspended, R, erlang:monotonic_time(millisecond)} end);
        reader -> spawn(fun() -> Me ! {read, gen_tcp:recv(S, 0, infinity)} end);
        idle -> ok
    end,
    timer:sleep(100),
    Before = erlang:port_info(S, queue_size),
    Killed = erlang:monotonic_time(millisecond),
    Pre = flush(),
    exit(S, Reason),
    timer:sleep(100),
    Alive = is_process_alive(Owner),
    Owner ! stop,
    timer:sleep(6000 * (case Load of busy -> 1; _ -> 0 end) + 50),
    Got = [case M of {sent, W, R, T} -> {sent, W, R, T - Killed}; _ -> M end || M <- Pre ++ [pre_kill] ++ flush()],
    Peer = drain(A, 0),
    io:format("~p trap=~p ~p: before ~0p; port ~0p; owner alive ~p; got ~0p; peer ~0p~n",
              [Load, Trap, Reason, Before, erlang:port_info(S, id), Alive, Got, trunc_peer(Peer)]),
    gen_tcp:close(A).
trunc_peer(X) -> X.
drain(A, N) -> case gen_tcp:recv(A, 0, 200) of {ok, B} -> drain(A, N + byte_size(B)); E -> {N, E} end.
flush() -> receive M -> [M | flush()] after 0 -> [] end.
