-module(probe_shutdown_made_later).
-export([main/0]).
%% A measurement script, run by hand (not a test): sleeps let loopback act.
%% Probe: gen_tcp:shutdown(S, write) made at once (nothing queued) against
%% one made later (output queued: the driver shuts down once the peer has
%% read the queue), then a send, with and without show_econnreset: how
%% the send's failed write is reported; then a recv.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Later, Show) || Later <- [false, true], Show <- [false, true]],
    halt().

run(Later, Show) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, inet}, binary, {active, false},
        {sndbuf, 4096}, {show_econnreset, Show}]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L),
    ok = inet:setopts(A, [{recbuf, 4096}]),
    Later andalso (ok = gen_tcp:send(S, binary:copy(<<"a">>, 100000))),
    timer:sleep(20),
    Q0 = erlang:port_info(S, queue_size),
    R0 = gen_tcp:shutdown(S, write),
    N = drain(A, 0),
    timer:sleep(20),
    Q1 = erlang:port_info(S, queue_size),
    R1 = gen_tcp:send(S, <<"x">>),
    timer:sleep(20),
    R2 = gen_tcp:send(S, <<"y">>),
    Rv = gen_tcp:recv(S, 0, 0),
    io:format("later=~p show=~p: q0=~0p shutdown=~0p peer=~0p q1=~0p send=~0p send2=~0p recv=~0p~n",
              [Later, Show, Q0, R0, N, Q1, R1, R2, Rv]),
    gen_tcp:close(S), gen_tcp:close(A).

drain(A, N) ->
    case gen_tcp:recv(A, 0, 2000) of
        {ok, B} -> drain(A, N + byte_size(B));
        E -> {N, E}
    end.
