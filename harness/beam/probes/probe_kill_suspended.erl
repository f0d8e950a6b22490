-module(probe_kill_suspended).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% busy_port_SUITE:multiple_writers on a gen_tcp port (inet backend):
%% writers suspended on the busy port, some killed; what the survivors
%% get once the port leaves busy, what the peer receives, queue_size.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(K) || K <- [none, first, middle, caller]],
    halt().
pair() ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096}, {high_watermark, 64}, {low_watermark, 16}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
writer(S, Tag, Len) ->
    Self = self(),
    spawn(fun() -> Self ! {done, Tag, gen_tcp:send(S, binary:copy(<<Tag>>, Len))} end).
run(Kill) ->
    {S, A} = pair(),
    Self0 = self(), spawn(fun() -> Self0 ! {big, gen_tcp:send(S, binary:copy(<<0>>, 2000000))} end), timer:sleep(50),
    Caller = writer(S, 1, 100), timer:sleep(50),
    Ws = [writer(S, T, 10) || T <- [2, 3, 4]], timer:sleep(50),
    St = [case erlang:process_info(W, status) of {status, X} -> X; undefined -> dead end || W <- [Caller | Ws]],
    Q0 = erlang:port_info(S, queue_size),
    case Kill of
        none -> ok;
        first -> exit(hd(Ws), kill);
        middle -> exit(lists:nth(2, Ws), kill);
        caller -> exit(Caller, kill)
    end,
    timer:sleep(50),
    Got = drain(A, []),
    timer:sleep(50),
    Done = flush(),
    Counts = [{T, length([B || <<B>> <= Got, B =:= T])} || T <- [0, 1, 2, 3, 4]],
    io:format("kill ~p: statuses ~0p ~0p; done ~0p; peer bytes per tag ~0p; queue ~0p~n",
              [Kill, St, Q0, Done, Counts, erlang:port_info(S, queue_size)]),
    gen_tcp:close(S), gen_tcp:close(A).
drain(A, Acc) -> case gen_tcp:recv(A, 0, 200) of {ok, D} -> drain(A, [Acc, D]); _ -> iolist_to_binary(Acc) end.
flush() -> receive M -> [M | flush()] after 0 -> [] end.
