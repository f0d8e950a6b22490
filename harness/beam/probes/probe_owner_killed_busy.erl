-module(probe_owner_killed_busy).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: the owner of a busy port (a caller blocked, a sender suspended)
%% is killed while the peer does not read; 300 ms later the peer reads in
%% 1000-byte steps. When do the caller and the suspended sender return,
%% against when the port leaves the table? And sends, setopts, recv,
%% queue_size on the exiting port; the peer's end (FIN or RST with input
%% unread at the port).
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Unread) || Unread <- [false, true]],
    halt().

run(Unread) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    Me = self(),
    Owner = spawn(fun() ->
        {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false},
            {sndbuf, 4096}, {high_watermark, 8192}, {low_watermark, 4096}]),
        Me ! {sock, S},
        receive stop -> ok end
    end),
    S = receive {sock, S0} -> S0 end,
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}, {show_econnreset, true}]),
    Unread andalso (ok = gen_tcp:send(A, <<"unread">>)),
    T0 = erlang:monotonic_time(millisecond),
    T = fun() -> erlang:monotonic_time(millisecond) - T0 end,
    ok = gen_tcp:send(S, binary:copy(<<"a">>, 100000)),
    spawn(fun() -> R = gen_tcp:send(S, <<"b">>), Me ! {caller, R, T()} end),
    timer:sleep(40),
    spawn(fun() -> R = gen_tcp:send(S, <<"c">>), Me ! {suspended, R, T()} end),
    timer:sleep(40),
    exit(Owner, kill),
    spawn(fun() -> watch(S, Me, T) end),
    timer:sleep(20),
    Probe = [{queue, erlang:port_info(S, queue_size)}, {send, gen_tcp:send(S, <<"late">>)},
             {setopts, inet:setopts(S, [{high_watermark, 100000}])}, {recv, gen_tcp:recv(S, 0, 0)},
             {getopts, inet:getopts(S, [high_watermark])}],
    timer:sleep(280),
    M0 = flush(),
    N = drain(A, 0, T),
    timer:sleep(200),
    M1 = flush(),
    io:format("unread=~p: probe=~0p~n  before_read(300ms)=~0p~n  peer=~0p~n  after=~0p~n", [Unread, Probe, M0, N, M1]),
    gen_tcp:close(A).

watch(S, Me, T) ->
    case erlang:port_info(S, queue_size) of
        undefined -> Me ! {port_gone, T()};
        _ -> timer:sleep(1), watch(S, Me, T)
    end.

drain(A, N, T) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> timer:sleep(1), drain(A, N + byte_size(B), T);
        E -> {N, E, T()}
    end.

flush() -> receive M -> [M | flush()] after 0 -> [] end.
