-module(probe_recv_wait_busy).
-export([main/0]).
%% A measurement script, run by hand (not a test): its sleeps give the
%% loopback and the BEAM time to act, which a test would not rely on.
%% gen_tcp_misc_SUITE:fill_sendq's situation on the inet backend: a writer
%% blocked on a busy port (or output queued below the high watermark) and
%% a reader blocked in recv(S, 0, infinity) when the peer closes with data
%% unread (RST) or shuts down (FIN); with and without show_econnreset.
main() ->
    io:format("OTP ~s~n", [erlang:system_info(otp_release)]),
    [run(Load, End, Show) || Load <- [busy, queued], End <- [rst, fin], Show <- [false, true], _ <- [1, 2, 3]],
    halt().
pair(Opts) ->
    {ok, L} = gen_tcp:listen(0, [binary, {ip, {127,0,0,1}}, {active, false}, {recbuf, 4096}]),
    {ok, P} = inet:port(L),
    {ok, S} = gen_tcp:connect({127,0,0,1}, P, [binary, {active, false}, {sndbuf, 4096} | Opts]),
    {ok, A} = gen_tcp:accept(L), gen_tcp:close(L), {S, A}.
run(Load, End, Show) ->
    {S, A} = pair([{show_econnreset, Show} | case Load of busy -> [{high_watermark, 64}, {low_watermark, 16}]; queued -> [{high_watermark, 1 bsl 20}] end]),
    Self = self(),
    spawn(fun() -> Self ! {read, gen_tcp:recv(S, 0, infinity)} end),
    W = spawn(fun() -> Self ! {sent, gen_tcp:send(S, binary:copy(<<7>>, 200000))} end),
    timer:sleep(100),
    Q = erlang:port_info(S, queue_size), St = erlang:process_info(W, status),
    case End of
        rst -> ok = inet:setopts(A, [{linger, {true, 0}}]), gen_tcp:close(A);
        fin -> ok = gen_tcp:shutdown(A, write)
    end,
    timer:sleep(200),
    Got = flush(),
    io:format("~p ~p show=~p: qs ~0p writer ~0p; then ~0p; recv ~0p send ~0p~n",
              [Load, End, Show, Q, St, Got, gen_tcp:recv(S, 0, 0), gen_tcp:send(S, <<"x">>)]),
    gen_tcp:close(S), gen_tcp:close(A), flush().
flush() -> receive M -> [M | flush()] after 0 -> [] end.
