-module(probe_send_after_end).
-export([main/0]).
%% Measurement script, run by hand (not a test): sleeps let loopback act.
main() ->
    [sync(B, Peer, Sre) || B <- [inet, socket], Peer <- [fin, rst], Sre <- [false, true]],
    [async(B, Act, Sre) || B <- [inet, socket], Act <- [false, true, once], Sre <- [false, true]],
    [busy(B, Act, Sre) || B <- [inet, socket], Act <- [false, true], Sre <- [false, true]],
    halt().
pair(B, Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [{inet_backend, B}, binary, {active, false} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
qs(S) when is_port(S) -> erlang:port_info(S, queue_size);
qs(_) -> n_a.
peer_end(A, fin) -> ok = gen_tcp:shutdown(A, write);
peer_end(A, rst) -> ok = inet:setopts(A, [{linger, {true, 0}}]), ok = gen_tcp:close(A).
sync(B, Peer, Sre) ->
    {S, A} = pair(B, [{show_econnreset, Sre}]),
    peer_end(A, Peer), timer:sleep(30),
    S1 = gen_tcp:send(S, <<"x">>), timer:sleep(30),
    S2 = gen_tcp:send(S, <<"y">>),
    R1 = gen_tcp:recv(S, 0, 0), R2 = gen_tcp:recv(S, 0, 0), S3 = gen_tcp:send(S, <<"z">>),
    io:format("sync ~p ~p sre=~p: send ~0p ~0p recv ~0p ~0p send ~0p qs ~0p~n", [B, Peer, Sre, S1, S2, R1, R2, S3, qs(S)]),
    gen_tcp:close(S), try gen_tcp:close(A) catch _:_ -> ok end.
async(B, Act, Sre) ->
    {S, A} = pair(B, [{show_econnreset, Sre}, {high_watermark, 8000000}, {low_watermark, 4000000}, {sndbuf, 65536}]),
    ok = gen_tcp:send(A, <<"hello">>), timer:sleep(30),
    Big = binary:copy(<<"a">>, 2000000),
    R = case B of inet -> gen_tcp:send(S, Big); socket -> spawn(fun() -> gen_tcp:send(S, Big) end), spawned end,
    timer:sleep(30), Q0 = qs(S),
    ok = inet:setopts(S, [{active, Act}]), timer:sleep(30), M0 = flush(),
    peer_end(A, rst), timer:sleep(100),
    M = flush(), Q = qs(S),
    Rv = gen_tcp:recv(S, 0, 0), Rv2 = gen_tcp:recv(S, 0, 0), Sn = gen_tcp:send(S, <<"z">>),
    io:format("async ~p active=~p sre=~p: send ~0p qs ~0p msgs0 ~0P~n    after rst: msgs ~0P qs ~0p recv ~0p ~0p send ~0p~n", [B, Act, Sre, R, Q0, M0, 8, M, 12, Q, Rv, Rv2, Sn]),
    gen_tcp:close(S).
busy(B, Act, Sre) ->
    {S, A} = pair(B, [{show_econnreset, Sre}, {high_watermark, 4096}, {low_watermark, 2048}, {sndbuf, 4096}, {active, Act}]),
    Self = self(),
    Chunk = binary:copy(<<"a">>, 65536),
    Pid = spawn(fun() -> Self ! {sent, send_until_error(S, Chunk, 40)} end),
    timer:sleep(50), St = process_info(Pid, status),
    peer_end(A, rst), timer:sleep(100),
    M = flush(),
    Rv = gen_tcp:recv(S, 0, 0),
    io:format("busy ~p active=~p sre=~p: sender ~0p; after rst: msgs ~0P qs ~0p recv ~0p~n", [B, Act, Sre, St, M, 12, qs(S), Rv]),
    gen_tcp:close(S).
send_until_error(_S, _C, 0) -> all_sent;
send_until_error(S, C, N) -> case gen_tcp:send(S, C) of ok -> send_until_error(S, C, N - 1); E -> {N, E} end.
flush() -> receive Msg -> [Msg | flush()] after 0 -> [] end.
