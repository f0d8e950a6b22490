-module(probe_port_killed_order).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% The order of the suspended senders' {error,einval} when a busy port
%% with a caller blocked is killed (three suspended, in order s1, s2, s3;
%% the owner unlinked first), and the caller's {error,closed} among them.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run() || _ <- lists:seq(1, 3)],
    halt().
run() ->
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {recbuf, 2304}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4608}, {high_watermark, 64}, {low_watermark, 16}]),
    {ok, A} = gen_tcp:accept(L),
    Me = self(),
    Send = fun(W, N) -> Pid = spawn(fun() -> R = gen_tcp:send(S, binary:copy(<<7>>, N)), Me ! {W, R} end), wait(Pid), Pid end,
    Send(first, 40000), Send(caller, 100), Send(s1, 10), Send(s2, 10), Send(s3, 10),
    flush(),
    unlink(S),
    exit(S, kill),
    receive after 200 -> ok end,
    io:format("  after the kill: ~0p~n", [flush()]),
    gen_tcp:close(A), gen_tcp:close(L).
wait(Pid) ->
    case erlang:process_info(Pid, status) of
        {status, S} when S =:= waiting; S =:= suspended -> ok;
        undefined -> ok;
        _ -> erlang:yield(), wait(Pid)
    end.
flush() -> receive M -> [M | flush()] after 0 -> [] end.
