%% portcheck BEAM adapter: speaks harness/PROTOCOL.md (versions 1 and 2)
%% on stdin/stdout and drives real gen_tcp on this node.
%%
%% Started by harness/src/sut/beam.rs as
%%   erl +S 1 +Q <n> [+spp true] -noshell -pa <dir> -run portcheck_adapter main inet|socket [plant=NAME]
%% or through `portcheck run --sut exec:'harness/beam/exec-adapter inet'`,
%% whose script reads the hello line first (the node's +Q and +spp depend
%% on it) and hands it over in $PORTCHECK_HELLO.
%%
%% The world of a case: the port under test S (gen_tcp, {sndbuf,4608};
%% {exit_on_close,false} when the setup says so, PC-6, PC-7),
%% connected to a peer that is a raw `socket` (NIF, no port-table slot,
%% {rcvbuf,2304}); a gen_tcp listener L; one Erlang process per sender; two
%% probe pairs (gen_tcp port + raw socket) used as an I/O barrier; dummy
%% ports filling the port table so that exactly table_capacity-2 slots are
%% free. The adapter's main process owns S (its mailbox is the owner's).
%% A `recv_wait` op spawns the reader, a process of its own blocked in
%% gen_tcp:recv(S, Len, T) until that returns (RX-7..RX-11; T is the op's
%% `timeout`, infinity when absent).
%%
%% One node serves many cases (PROTOCOL.md §2.3, `reset`): after a case the
%% adapter tears its world down and checks that the node is back where it
%% was before the case's hello (ports, sockets, processes, links, mailbox)
%% before it says the node is clean. The dummy ports are the node's, not
%% the case's: they are kept and trimmed or topped up by the next setup.
%%
%% No sleeps: every wait is for a specific event, with a bound that only
%% turns into an `error` answer.
-module(portcheck_adapter).
-export([main/1, sender_loop/4, closer/2, reader/4]).

-define(VERSION, 2).            % the newest version spoken; 1 is answered as 1
-define(BOUND, 5000).          % ms: every internal wait; below the harness's 10 s
-define(SNDBUF, 4608).
-define(PEER_RCVBUF, 2304).
-define(IPPROTO_TCP, 6).
-define(TCP_INFO, 11).
-define(TCP_ESTABLISHED, 1).   % tcpi_state (include/net/tcp_states.h)
-define(TCP_CLOSE, 7).
-define(TCP_INFO_LEN, 232).
-define(ROOM, 16).             % free slots a setup wants before building its world
-define(GONE_BOUND, 1000).     % ms: teardown's wait for the case's processes to end
-define(WARM_UP, 16).          % events that move the scheduler probe's fd to the scheduler pollset (12 do)

%% What a node keeps between cases.
-record(node, {
    dummies = [],              % idle ports filling the table's surplus slots
    plant = none               % a planted misbehaviour (harness tests only, see plant/1)
}).

%% The node before a case's hello, which its teardown must get back to.
-record(base, {
    ports,                     % port_count, not counting dummy ports
    port_ids,                  % erlang:ports(), not counting dummy ports (to name leftovers)
    sockets,                   % socket:number_of()
    procs,                     % sorted processes()
    links,                     % the main process's links, not counting dummy ports
    monitors                   % the main process's monitors
}).

-record(st, {
    backend,                   % inet | socket
    senders,                   % tuple of pids, index = id + 1
    n_senders,
    s,                         % port under test
    s_server,                  % socket backend: the gen_tcp_socket server pid
    closer,                    % pid of the process running gen_tcp:close(S)
    reader = idle,             % the reader's recv (recv_wait): idle | {waiting, Pid} | {returned, Result}
    reader_since,              % its timed recv (RX-11): {virtual ms, monotonic ms, T} when made | undefined
    peer,                      % raw socket, peer end of S
    peer_reset = false,        % await_peer's peek took the peer's ECONNRESET: the next peer_read reports it
    peer_sent = 0,             % bytes the peer has written to S, in all
    lsock, lport,              % gen_tcp listener
    xsock, xport,              % raw listener for open_extra
    extras = [],               % ports opened by open_extra
    accepted = [],             % [{Port, ClientSocket}] most recent first
    probe_in, probe_out,       % I/O barrier: gen_tcp port (active once per barrier) <- raw socket
    sched_in, sched_out,       % I/O barrier: gen_tcp port (active, in the scheduler pollset) <- raw socket
    sentinel,                  % permanently busy port: system-message barrier
    dummies = [],
    offset,                    % port_limit - table_capacity
    outstanding = #{},         % sender id => issue order (seq()) of its send, while in flight
    armed_at,                  % inet: latest issue order (a `seq()`) of a send that held the busy-caller slot
    waiting_since = #{},       % sender id => {virtual ms, monotonic ms, send_timeout, seq()} first seen waiting
    vnow = 0,                  % the model's clock: the sum of advance_time's `by`
    send_timeout = infinity,   % current send_timeout of S (ms | infinity)
    timers = false,            % delay_send or send_timeout 0 ever set: barrier timers
    done = [],                 % [{Id, Result}] finished during the step, reversed
    busy_events = [],          % [Id] reversed
    notes = []                 % [binary()] reversed
    ,base                      % #base{} taken before the hello
    ,plant = none
    ,extra_opened = false      % plant miscount_extra: an open_extra succeeded
    ,killed = false            % kill_port killed the port under test (CL-5): its send timers went with it
    ,exit_on_close = true      % S's exit_on_close (setup.exit_on_close): false, the peer's FIN half-closes it (PC-6, PC-7)
    ,end_delivered = false     % exit_on_close false: S delivered {tcp_closed,S} (once, PC-7), in the mailbox or taken
}).

%% ---------------------------------------------------------------------------
%% entry

main(["runtime"]) ->
    %% The harness's question before its first case (harness/src/sut/beam.rs):
    %% which release is this `erl`? One line, the `ready` line's `runtime`.
    %% No port under test here, so halting flushes stdout (stop/1 may not).
    emit(runtime()),
    erlang:halt(0);
main(Args) ->
    Backend = case Args of ["socket" | _] -> socket; _ -> inet end,
    _ = logger:remove_handler(default),
    _ = logger:add_handler(default, logger_std_h, #{config => #{type => standard_error}}),
    ok = io:setopts(standard_io, [binary]),
    try hello(Backend, #node{plant = plant(Args)}, first_msg())
    catch C:E:Stk ->
        log("adapter crashed: ~p:~p~n~p~n", [C, E, Stk]),
        emit(#{type => error, message => fmt("adapter crashed: ~p:~p at ~p", [C, E, Stk])}),
        stop(3)
    end.

%% Exit at once on success. After an error line, wait for the harness to
%% close stdin (it kills us anyway) so the line and the stderr log are
%% surely written: halting without flushing could drop them, and flushing
%% would wait for the port under test's queue.
stop(0) -> erlang:halt(0, [{flush, false}]);
stop(Code) ->
    case io:get_line(standard_io, "") of
        eof -> erlang:halt(Code, [{flush, false}]);
        {error, _} -> erlang:halt(Code, [{flush, false}]);
        _ -> stop(Code)
    end.

log(F, A) -> io:format(standard_error, F, A).

%% A planted misbehaviour, for the harness's own tests (`plant=NAME` after
%% the backend; harness/src/sut/beam.rs `AdapterPlant`), so they can show
%% what the harness does with a node whose case failed or that comes back
%% dirty:
%%  - miscount_extra: after an open_extra that succeeded, every `ports` is
%%    one too many (the case diverges);
%%  - leak_listener: teardown leaves the listener open (the reset is dirty).
plant(Args) ->
    case [P || "plant=" ++ P <- Args] of
        ["miscount_extra"] -> miscount_extra;
        ["leak_listener"] -> leak_listener;
        [] -> none
    end.

%% The release this node runs (PROTOCOL.md §2.2 `runtime`): the major
%% release, the full version when the installation has an OTP_VERSION file
%% (an installed release keeps it under releases/<rel>/, a source tree at
%% its top), and the ERTS version.
runtime() ->
    Rel = erlang:system_info(otp_release),
    Base = #{otp_release => list_to_binary(Rel),
             erts => list_to_binary(erlang:system_info(version))},
    Root = code:root_dir(),
    Files = [filename:join([Root, "releases", Rel, "OTP_VERSION"]), filename:join(Root, "OTP_VERSION")],
    case [V || F <- Files, {ok, V} <- [file:read_file(F)]] of
        [V | _] -> Base#{otp_version => string:trim(V)};
        [] -> Base
    end.

%% The value of F(), or {'EXIT', {Class, Reason}} when it raised: for
%% answers and diagnostics that must not crash the adapter. (`catch Expr`
%% is deprecated since OTP 29.)
caught(F) ->
    try F() catch C:R -> {'EXIT', {C, R}} end.

%% The first message: the hello the exec-adapter script read from stdin
%% before it could start this node (PROTOCOL.md §2.1, `start`), else the
%% first line on stdin.
first_msg() ->
    case os:getenv("PORTCHECK_HELLO") of
        false -> read_msg();
        "" -> read_msg();
        Line ->
            os:unsetenv("PORTCHECK_HELLO"),
            decode_line(unicode:characters_to_binary(Line))
    end.

%% What this backend can be asked (PROTOCOL.md §2.2 `abilities`, version
%% 2): nothing outside a port can hold its lock; the socket backend's
%% socket is not a port (no port_command/3 flags, no parallelism), its
%% getopts has no watermarks, and its recv(S, 0, 0) can wait after
%% active -> passive (DIFF-SOCK-7); the kernel environment's defaults
%% (OPT-8) apply on both, but only the inet driver reads options back;
%% gen_tcp:shutdown/2 (SD-*), a reader blocked in gen_tcp:recv(S, Len,
%% T) (RX-7..RX-11), the port killed (CL-5, DIFF-INET-13),
%% {exit_on_close, false} (PC-6, PC-7), the blocked caller killed
%% (SND-8) and the owner killed (CL-6) were measured on the inet driver
%% only. The same
%% as harness/src/sut/beam.rs declares for `--sut beam`/`beam-socket`.
abilities(Backend) ->
    Inet = Backend =:= inet,
    #{lock_contention => false, send_flags => Inet, recv => Inet, get_opts => Inet, parallelism => Inet,
      peer_end => Inet, kernel_env => Inet, shutdown => Inet, recv_wait => Inet,
      linger => Inet, kill => Inet, recv_timeout => Inet, kill_port => Inet, exit_on_close => Inet,
      kill_caller => Inet, kill_owner => Inet}.

hello(Backend, Node) ->
    hello(Backend, Node, read_msg()).

hello(Backend, Node, Msg) ->
    case Msg of
        eof -> stop(0);
        %% A session may end between cases, after a clean reset.
        #{<<"type">> := <<"bye">>} -> stop(0);
        #{<<"type">> := <<"hello">>, <<"version">> := V, <<"setup">> := Setup}
          when is_integer(V), V >= 1 ->
            %% Answer in the harness's version when it speaks ours or older.
            Version = min(V, ?VERSION),
            Base = baseline(Node#node.dummies),
            case setup(Backend, Setup, Node) of
                {ok, St, Info} ->
                    Ready = #{type => ready, version => Version,
                              sut => <<"beam-", (atom_to_binary(Backend))/binary>>,
                              reports => [peer_got], settles => true, real_clock => true,
                              variant => <<"otp-", (atom_to_binary(Backend))/binary>>,
                              runtime => runtime(),
                              reusable => true,
                              info => Info},
                    emit(case Version of
                             1 -> Ready;
                             _ -> Ready#{abilities => abilities(Backend)}
                         end),
                    loop(St#st{base = Base, plant = Node#node.plant});
                {unsupported, Why} ->
                    emit(#{type => unsupported, reason => Why}),
                    stop(1)   % waits for EOF, so the line is surely written
            end;
        #{<<"type">> := <<"hello">>, <<"version">> := V} ->
            emit(#{type => error, message => fmt("protocol version ~p not supported (adapter speaks ~p)", [V, ?VERSION])}),
            stop(2);
        Other ->
            emit(#{type => error, message => fmt("expected hello, got ~0p", [Other])}),
            stop(2)
    end.

loop(St) ->
    case read_msg() of
        eof -> stop(0);
        #{<<"type">> := <<"bye">>} -> stop(0);
        #{<<"type">> := <<"reset">>} ->
            %% The case is over and passed: take its world down, say whether
            %% the node is back at its baseline, and serve the next hello
            %% only if it is.
            case reset(St) of
                {clean, Dummies} ->
                    emit(#{type => reset, clean => true}),
                    hello(St#st.backend, #node{dummies = Dummies, plant = St#st.plant});
                {dirty, Why} ->
                    emit(#{type => reset, clean => false, reason => Why}),
                    stop(1)   % the harness kills the node; wait for it
            end;
        #{<<"type">> := <<"op">>, <<"step">> := Step, <<"op">> := Op} ->
            St0 = St#st{done = [], busy_events = [], notes = []},
            try apply_op(Op, St0) of
                {unsupported, Why} ->
                    emit(#{type => unsupported, step => Step, reason => Why}),
                    loop(St);
                {Reply, Choices, St1} ->
                    {Obs, St2} = observe(Reply, St1),
                    Msg = #{type => step, step => Step, observation => Obs, choices => Choices},
                    emit(case St2#st.notes of [] -> Msg; Ns -> Msg#{notes => lists:reverse(Ns)} end),
                    loop(reported_reader(St2))
            catch
                throw:{sut_error, M} ->
                    emit(#{type => error, step => Step, message => M}),
                    stop(2);
                C:E:Stk ->
                    log("step ~p crashed: ~p:~p~n~p~n", [Step, C, E, Stk]),
                    emit(#{type => error, step => Step,
                           message => fmt("adapter crashed in step ~p (~0p): ~p:~p at ~p", [Step, Op, C, E, Stk])}),
                    stop(3)
            end;
        Other ->
            emit(#{type => error, message => fmt("expected op, reset or bye, got ~0p", [Other])}),
            stop(2)
    end.

fail(F, A) -> throw({sut_error, fmt(F, A)}).

%% ---------------------------------------------------------------------------
%% setup

%% Runs F with the kernel application's Key set to Env (none: F alone),
%% and unsets it again, so the adapter's own sockets never see it.
with_kernel_env(_Key, [], F) ->
    F();
with_kernel_env(Key, Env, F) ->
    ok = application:set_env(kernel, Key, Env),
    try F() after application:unset_env(kernel, Key) end.

setup(socket, #{<<"exit_on_close">> := false}, _Node) ->
    %% Not declared (abilities/1): only a replayed trace asks.
    {unsupported, <<"{exit_on_close, false}: the peer's FIN half-closing the port (PC-6, PC-7) was measured "
                    "on the inet driver only (abilities.exit_on_close); the socket backend's was not">>};
setup(Backend, Setup, Node) ->
    #{<<"options">> := Options, <<"parallelism">> := Par, <<"senders">> := NS,
      <<"table_capacity">> := Cap, <<"listener_options">> := LOpts} = Setup,
    Kept = make_room(Node#node.dummies),
    Loop = {127, 0, 0, 1},
    BOpt = case Backend of socket -> [{inet_backend, socket}]; inet -> [] end,
    %% peer: raw socket with a small receive buffer (set before listen, so
    %% the accepted socket and its window scale inherit it)
    {ok, PL} = socket:open(inet, stream, tcp),
    ok = socket:setopt(PL, {socket, rcvbuf}, ?PEER_RCVBUF),
    ok = socket:bind(PL, #{family => inet, addr => Loop, port => 0}),
    ok = socket:listen(PL),
    {ok, #{port := PPort}} = socket:sockname(PL),
    %% RS-1: show_econnreset at connect (absent: false, as before the field)
    Sre = maps:get(<<"show_econnreset">>, Setup, false),
    %% CL-4: {linger,{true,0}} at connect (absent: linger off, as before the field)
    Linger = case maps:get(<<"linger_zero">>, Setup, false) of
                 true -> [{linger, {true, 0}}];
                 false -> []
             end,
    %% PC-6, PC-7: {exit_on_close,false} at connect (absent: true, the
    %% default; the harness writes the field only when false)
    Eoc = maps:get(<<"exit_on_close">>, Setup, true),
    is_boolean(Eoc) orelse fail("setup: exit_on_close ~0p is not a bool", [Eoc]),
    EocOpt = [{exit_on_close, false} || not Eoc],
    %% OPT-8: the kernel environment's defaults, given to the port under
    %% test and the listener only (absent: none, as before the field)
    KEnv = maps:get(<<"kernel_env">>, Setup, #{}),
    EnvOf = fun(K) -> [to_erl_opt(O) || O <- maps:get(K, KEnv, [])] end,
    {ok, S} = with_kernel_env(inet_default_connect_options, EnvOf(<<"connect">>), fun() ->
        gen_tcp:connect(Loop, PPort, BOpt ++ [binary, {active, false}, {sndbuf, ?SNDBUF},
                                              {show_econnreset, Sre} | Linger ++ EocOpt], ?BOUND)
    end),
    {ok, Peer} = socket:accept(PL, ?BOUND),
    %% The peer sends each write at once: with Nagle a small write behind an
    %% unacknowledged one waits for the port's delayed ACK (up to 40 ms), so
    %% a recv right after it saw nothing (unexplained/beam-inet-15311640446648684418,
    %% 13 of 13 replays). peer_write waits for arrival anyway; this keeps it quick.
    ok = socket:setopt(Peer, {tcp, nodelay}, true),
    %% probe pairs (see io_barrier/1): gen_tcp ports (inet driver) fed by
    %% raw sockets, one passive between barriers, one active
    {ok, PrL} = socket:open(inet, stream, tcp),
    ok = socket:bind(PrL, #{family => inet, addr => Loop, port => 0}),
    ok = socket:listen(PrL),
    {ok, #{port := PrPort}} = socket:sockname(PrL),
    {ok, ProbeIn} = gen_tcp:connect(Loop, PrPort, [binary, {active, false}], ?BOUND),
    {ok, ProbeOut} = socket:accept(PrL, ?BOUND),
    {ok, SchedIn} = gen_tcp:connect(Loop, PrPort, [binary, {active, true}], ?BOUND),
    {ok, SchedOut} = socket:accept(PrL, ?BOUND),
    SchedProbe = warm_up(SchedIn, SchedOut),
    %% sentinel: a port kept busy for good (its peer never reads), so a
    %% throwaway process sending to it is suspended and raises a busy_port
    %% event: the system-message barrier (see sysmsg_barrier/1)
    {ok, Sen} = gen_tcp:connect(Loop, PrPort, [binary, {active, false}, {sndbuf, ?SNDBUF},
                                               {high_watermark, 1}, {low_watermark, 0}], ?BOUND),
    {ok, SenPeer} = socket:accept(PrL, ?BOUND),
    ok = socket:close(PrL),
    ok = socket:close(PL),
    ok = gen_tcp:send(Sen, binary:copy(<<0>>, 2 bsl 20)),   % onto the empty queue: queued, not busy
    {queue_size, SenQ} = erlang:port_info(Sen, queue_size),
    SenQ > 0 orelse fail("setup: the sentinel's kernel took 2 MB", []),
    SenBlocker = spawn(fun() -> gen_tcp:send(Sen, <<0>>) end),  % crosses high: busy for good
    wait_status(SenBlocker, waiting, erlang:monotonic_time(millisecond) + ?BOUND),
    %% extra listener (raw socket: not in the table) for open_extra
    {ok, XL} = socket:open(inet, stream, tcp),
    ok = socket:bind(XL, #{family => inet, addr => Loop, port => 0}),
    ok = socket:listen(XL, 4096),
    {ok, #{port := XPort}} = socket:sockname(XL),
    %% listener under test, its options applied as one setopts (like S's)
    {ok, L} = with_kernel_env(inet_default_listen_options, EnvOf(<<"listen">>), fun() ->
        gen_tcp:listen(0, BOpt ++ [binary, {active, false}, {ip, Loop}, {backlog, 128}])
    end),
    {ok, LPort} = inet:port(L),
    case LOpts of
        [] -> ok;
        _ -> case inet:setopts(L, [to_erl_opt(O) || O <- LOpts]) of
                 ok -> ok;
                 LErr -> fail("setup: listener setopts ~0p: ~0p", [LOpts, LErr])
             end
    end,
    Server = case S of {'$inet', gen_tcp_socket, {SPid, _}} -> SPid; _ -> undefined end,
    Me = self(),
    Format = command_format(),
    Senders = list_to_tuple([spawn_link(?MODULE, sender_loop, [Me, Id, S, Format]) || Id <- lists:seq(0, NS - 1)]),
    erlang:system_monitor(self(), [busy_port]),
    St0 = #st{backend = Backend, senders = Senders, n_senders = NS, s = S, s_server = Server,
              peer = Peer, lsock = L, lport = LPort, xsock = XL, xport = XPort,
              probe_in = ProbeIn, probe_out = ProbeOut, sched_in = SchedIn, sched_out = SchedOut,
              sentinel = {Sen, SenPeer, SenBlocker}, exit_on_close = Eoc},
    ErlOpts = [to_erl_opt(O) || O <- Options],
    case Options of
        [] -> ok;
        _ -> case inet:setopts(S, ErlOpts) of
                 ok -> ok;
                 Err -> fail("setup: setopts ~0p on the port under test: ~0p", [ErlOpts, Err])
             end
    end,
    St1 = note_opts(Options ++ LOpts, refresh_send_timeout(St0)),
    ParallelOk = case Backend of
                     inet -> erlang:port_info(S, parallelism) =:= {parallelism, Par};
                     socket -> not Par
                 end,
    Limit = erlang:system_info(port_limit),
    %% S and the listener count as the two occupied slots of the virtual table.
    %% Dummy ports kept from earlier cases count as occupied; a negative
    %% count is how many of them to close.
    Dummies = Limit - erlang:system_info(port_count) - (Cap - 2),
    if
        not ParallelOk, Backend =:= socket ->
            {unsupported, <<"parallelism requested, but with {inet_backend,socket} the socket is not a port "
                            "(no port parallelism)">>};
        not ParallelOk ->
            {unsupported, fmt("parallelism ~p requested but the port under test has ~0p "
                              "(the node's +spp decides it; gen_tcp has no option)",
                              [Par, caught(fun() -> erlang:port_info(S, parallelism) end)])};
        Dummies + length(Kept) < 0 ->
            {unsupported, fmt("table_capacity ~p needs a larger port table: port_limit ~p, ~p ports in use "
                              "(start the node with a larger +Q)",
                              [Cap, Limit, erlang:system_info(port_count)])};
        true ->
            Ds = adjust_dummies(Kept, Dummies),
            St = settle(St1#st{dummies = Ds, offset = Limit - Cap}),
            Free = Limit - erlang:system_info(port_count),
            Free =:= Cap - 2 orelse fail("setup: ~p free slots after filling, wanted ~p", [Free, Cap - 2]),
            {ok, PSnd} = get_sndbuf(St),
            {ok, PRcv} = socket:getopt(Peer, {socket, rcvbuf}),
            Info = #{otp_release => list_to_binary(erlang:system_info(otp_release)),
                     erts_version => list_to_binary(erlang:system_info(version)),
                     backend => atom_to_binary(Backend),
                     port_limit => integer_to_binary(Limit),
                     dummy_ports => integer_to_binary(length(Ds)),
                     schedulers => integer_to_binary(erlang:system_info(schedulers_online)),
                     port_sndbuf_effective => integer_to_binary(PSnd),
                     peer_rcvbuf_effective => integer_to_binary(PRcv),
                     port_parallelism => atom_to_binary(Par),
                     io_barrier_sched_probe => SchedProbe},
            {ok, St, Info}
    end.

%% Dummy ports kept from the previous case may leave fewer free slots than
%% this case's world takes before the table is trimmed to its capacity:
%% close some first.
make_room(Ds) ->
    Free = erlang:system_info(port_limit) - erlang:system_info(port_count),
    {Close, Keep} = lists:split(min(length(Ds), max(0, ?ROOM - Free)), Ds),
    lists:foreach(fun erlang:port_close/1, Close),
    Keep.

%% Open N more dummy ports (a spawn_driver udp_inet port has no fd), or
%% close -N of them.
adjust_dummies(Ds, N) when N >= 0 ->
    [erlang:open_port({spawn_driver, "udp_inet"}, [binary]) || _ <- lists:seq(1, N)] ++ Ds;
adjust_dummies(Ds, N) ->
    {Close, Keep} = lists:split(-N, Ds),
    lists:foreach(fun erlang:port_close/1, Close),
    Keep.

get_sndbuf(#st{s = S}) ->
    case inet:getopts(S, [sndbuf]) of
        {ok, [{sndbuf, V}]} -> {ok, V};
        E -> E
    end.

%% Options that arm zero-delay driver timers make settle() add a timer barrier.
note_opts(Opts, St) ->
    T = lists:any(fun(#{<<"delay_send">> := true}) -> true;
                     (#{<<"send_timeout">> := #{<<"after">> := 0}}) -> true;
                     (_) -> false
                  end, Opts),
    St#st{timers = St#st.timers orelse T}.

refresh_send_timeout(#st{s = S} = St) ->
    try inet:getopts(S, [send_timeout]) of
        {ok, [{send_timeout, T}]} -> St#st{send_timeout = T};
        _ -> St
    catch _:_ -> St
    end.

to_erl_opt(M) when is_map(M) ->
    [{K, V}] = maps:to_list(M),
    case K of
        <<"high_watermark">> -> {high_watermark, V};
        <<"low_watermark">> -> {low_watermark, V};
        <<"high_msgq_watermark">> -> {high_msgq_watermark, V};
        <<"low_msgq_watermark">> -> {low_msgq_watermark, V};
        <<"delay_send">> -> {delay_send, V};
        <<"send_timeout">> -> {send_timeout, case V of <<"infinity">> -> infinity; #{<<"after">> := Ms} -> Ms end};
        <<"send_timeout_close">> -> {send_timeout_close, V};
        <<"active">> -> {active, case V of
                                     <<"false">> -> false;
                                     <<"true">> -> true;
                                     <<"once">> -> once;
                                     #{<<"n">> := N} -> N
                                 end}
    end.

%% ---------------------------------------------------------------------------
%% senders

sender_loop(Main, Id, S, Format) ->
    receive
        {send, Data, []} ->
            R = gen_tcp:send(S, Data),
            Main ! {send_done, Id, R},
            sender_loop(Main, Id, S, Format);
        {send, Data, Flags} ->
            R = flagged_send(Format, S, Data, Flags),
            Main ! {send_done, Id, R},
            sender_loop(Main, Id, S, Format)
    end.

%% gen_tcp:send/2 takes no port_command flags, so a send with nosuspend or
%% force speaks the inet driver's send command itself, in the format of the
%% running release (the driver's wire format is internal to OTP and changed
%% once; the release is read at run time so one compiled adapter serves
%% every release):
%%  - up to OTP 25 the command is the bare data and the driver answers
%%    {inet_reply, S, Status};
%%  - since OTP 26 (OTP-18520: inet_drv.c init_caller_iov) the command starts
%%    with a caller tag, a 16-bit big-endian length and that many bytes of
%%    an external term, and the driver answers {inet_reply, S, Status, Tag}.
%%    A command without the tag loses its first bytes to it, or kills the
%%    port with einval when shorter than 2 bytes. The tag is a port monitor,
%%    as gen_tcp's own sends use, so a port that dies answers 'DOWN'
%%    instead of leaving the sender waiting for ever.
%% `false` is port_command's answer to a nosuspend send on a busy port.
command_format() ->
    case string:to_integer(erlang:system_info(otp_release)) of
        {Rel, _} when is_integer(Rel), Rel >= 26 -> caller_tag;
        _ -> bare
    end.

flagged_send(bare, S, Data, Flags) ->
    try erlang:port_command(S, Data, Flags) of
        false -> false;
        true -> receive {inet_reply, S, Status} -> Status end
    catch error:badarg -> {error, closed};
          error:notsup -> {error, notsup}
    end;
flagged_send(caller_tag, S, Data, Flags) ->
    Tag = erlang:monitor(port, S),
    Enc = term_to_binary(Tag, [local]),
    Header = <<(byte_size(Enc)):16, Enc/binary>>,
    try erlang:port_command(S, [Header, Data], Flags) of
        false ->
            erlang:demonitor(Tag, [flush]),
            false;
        true ->
            receive
                {inet_reply, S, Status, Tag} ->
                    erlang:demonitor(Tag, [flush]),
                    Status;
                {'DOWN', Tag, port, S, _} ->
                    {error, closed}
            end
    catch error:badarg -> erlang:demonitor(Tag, [flush]), {error, closed};
          error:notsup -> erlang:demonitor(Tag, [flush]), {error, notsup}
    end.

closer(Main, S) ->
    R = gen_tcp:close(S),
    Main ! {closed, S, R}.

%% The reader (recv_wait): one recv, its result to the main process, and
%% done. On the inet backend its only wait is prim_inet's receive of the
%% driver's {inet_async, S, Ref, Result}; a timeout T (ms | infinity) is
%% the driver's timer (RX-11: tcp_inet_timeout answers {error,timeout}),
%% or, for 0, answered from the recv's own port_control after one read.
reader(Main, S, Len, T) ->
    R = caught(fun() -> gen_tcp:recv(S, Len, T) end),
    Main ! {reader_done, self(), R}.

%% ---------------------------------------------------------------------------
%% ops

apply_op(#{<<"op">> := <<"send">>, <<"sender">> := Id, <<"len">> := Len, <<"tag">> := Tag,
           <<"flags">> := #{<<"nosuspend">> := NoSusp, <<"force">> := Force}}, St) ->
    Flags = [nosuspend || NoSusp] ++ [force || Force],
    (Id >= 0 andalso Id < St#st.n_senders) orelse fail("send: no sender ~p", [Id]),
    maps:is_key(Id, St#st.outstanding) andalso fail("send: sender ~p already has a send in flight", [Id]),
    case St#st.backend of
        socket when Flags =/= [] ->
            {unsupported, fmt("send with ~0p: erlang:port_command/3 flags need a port; "
                              "with {inet_backend,socket} the socket is not a port", [Flags])};
        _ ->
            Issued = seq(),
            element(Id + 1, St#st.senders) ! {send, payload(Tag, Len), Flags},
            St1 = settle(St#st{outstanding = maps:put(Id, Issued, St#st.outstanding)}),
            {{own_send, Id}, [], St1}
    end;

%% SND-7: a sender suspended on the busy port is killed; a fresh process
%% takes its id. Unlinked first (the main process does not trap exits),
%% and awaited through a monitor, so the step ends with it gone: the port
%% forgets a waiter that died, and its send in flight never completes.
%% On the real clock the port may have left busy between the last answer
%% and this op, resuming the sender (a reading peer): the kill no longer
%% meets a suspended sender, which the model does not follow, so the case
%% is skipped, with the reason (PROTOCOL.md: unsupported).
apply_op(#{<<"op">> := <<"kill">>, <<"sender">> := Id}, #st{backend = inet} = St) ->
    kill_sender_in("kill", Id, suspended, "was resumed between steps (the port left busy on the real clock)", St);
apply_op(#{<<"op">> := <<"kill">>}, St) ->
    {unsupported, fmt("kill: no sender suspends on the ~p backend", [St#st.backend])};

%% SND-8: the caller blocked on the busy port's reply is killed, as a
%% suspended sender is (kill_sender): its queued bytes stay, and the reply
%% busy's end sends goes to a dead process. On the real clock that reply
%% may have come between the last step and this op (the peer read, a send
%% timer fired): the process, still counted outstanding, has returned and
%% waits for its next command. Killed all the same, the result it sent
%% goes with it (kill_sender drops it unread): the model's killed caller
%% returns nothing, and the port's leaving busy is seen as the model's own
%% activity. A sender that is neither (its result already reported) is
%% skipped, as the kill of a resumed sender is.
apply_op(#{<<"op">> := <<"kill_caller">>, <<"sender">> := Id}, #st{backend = inet} = St) ->
    kill_sender_in("kill_caller", Id, waiting, "returned between steps on the real clock", St);
apply_op(#{<<"op">> := <<"kill_caller">>}, St) ->
    {unsupported, fmt("kill_caller: no caller blocks on a busy port on the ~p backend", [St#st.backend])};

%% CL-5, DIFF-INET-13: another process kills the port under test,
%% exit(S, kill) (busy_port_SUITE:no_trap_exit_unlinked). The main process
%% owns S, is linked to it (its connect made the link) and does not trap
%% exits: it unlinks first, or the port's exit signal (reason killed) would
%% take it down with the port. Once unlink/1 has returned no exit signal of
%% that link reaches it, so the killer, a process of its own as the rule
%% has it, needs no ordering after the unlink. The step ends once the port
%% is gone: its port monitor's 'DOWN' comes when the port has terminated
%% (its stop answered a waiting recv {error,closed}, the suspended senders
%% were resumed, the monitors of the senders waiting on its reply fired),
%% and the table's count has caught up with it (as at teardown,
%% await_ports_closed/2). Then it settles as every step does: the senders'
%% results and the reader's are collected. A sender still waiting for the
%% port's reply (OTP 25: until prim_inet's INET_CLOSE_TIMEOUT, 5 s from when
%% its wait began, DIFF-INET-3) is left waiting: its result comes in a later
%% step, or the case ends first and teardown kills it with the other
%% senders. A reader waiting on a port killed busy is never answered
%% (inet_drv's tcp_close_check answers it only in state
%% INET_STATE_CONNECTED, which INET_F_BUSY leaves; measured on 25, 27 and
%% 29): it stays waiting, and teardown kills it. The port's send timers,
%% and a timed recv's timer, went with it: advance_time waits for none
%% after the kill (`killed`). Later ops meet a dead port: a send
%% {error,closed}, queue_size 0, getopts refused (`unsupported`).
apply_op(#{<<"op">> := <<"kill_port">>}, #st{backend = socket}) ->
    {unsupported, <<"kill_port: with {inet_backend,socket} the socket is not a port (no exit(Port, kill)); "
                    "CL-5 was measured on the inet driver">>};
apply_op(#{<<"op">> := <<"kill_port">>}, #st{s = S} = St) ->
    St1 = case erlang:port_info(S, id) of
              undefined -> add_note("kill_port: the port under test had left the table before the kill", [], St);
              _ -> St
          end,
    kill_port(S),
    {none, [], settle(St1#st{killed = true})};

%% CL-6: the port's owner dies. The main process owns the port and must
%% live on, so it hands the port to a process of its own
%% (gen_tcp:controlling_process/2: erlang:port_connect, then unlink, so
%% the port is linked to the new owner only; an active port's data and
%% tcp_closed in our mailbox move with it, and its tcp_passive and
%% tcp_error, which inet's tcp_sync_input leaves, are dropped here: they
%% were the owner's, and die with it) and kills that one. The step ends once the
%% port is gone, as kill_port's does (its port monitor's 'DOWN', the
%% table's count caught up), and has settled. Generated with nothing
%% queued and no sender waiting (the model's kill_owner_enabled); a port
%% that has output queued all the same (a real clock: not here) would
%% flush first, and the bound would fail the step.
apply_op(#{<<"op">> := <<"kill_owner">>}, #st{backend = socket}) ->
    {unsupported, <<"kill_owner: CL-6 was measured on the inet driver">>};
apply_op(#{<<"op">> := <<"kill_owner">>}, #st{s = S} = St) ->
    Owner = spawn(fun() -> receive after infinity -> ok end end),
    case gen_tcp:controlling_process(S, Owner) of
        ok -> ok;
        E -> exit(Owner, kill), fail("kill_owner: controlling_process: ~0p", [E])
    end,
    drop_port_messages(S),
    port_goes("kill_owner", "exit(Owner, kill)", S, fun() -> exit(Owner, kill) end),
    {none, [], settle(St#st{killed = true})};

apply_op(#{<<"op">> := <<"peer_read">>}, #st{peer_reset = true} = St) ->
    %% The reset await_peer's peek consumed (the kernel reports it once).
    {#{peer => reset}, [#{peer_got => #{got => 0}}], settle(St#st{peer_reset = false})};

apply_op(#{<<"op">> := <<"peer_read">>, <<"max">> := Max}, St) ->
    {Reply, Got} = case Max of
                       0 -> {would_block, 0};
                       _ -> case socket:recv(St#st.peer, Max, [], 0) of
                                {ok, D} -> {#{data => binary_to_list(D)}, byte_size(D)};
                                {error, timeout} -> {would_block, 0};
                                {error, {timeout, D}} -> {#{data => binary_to_list(D)}, byte_size(D)};
                                {error, closed} -> {eof, 0};
                                %% CL-3: the port's socket closed with unread input.
                                {error, econnreset} -> {reset, 0};
                                E -> fail("peer_read: socket:recv: ~0p", [E])
                            end
                   end,
    {#{peer => Reply}, [#{peer_got => #{got => Got}}], settle(St)};

apply_op(#{<<"op">> := <<"peer_write">>, <<"len">> := Len, <<"tag">> := Tag}, St) ->
    %% socket:send returns once the kernel took every byte. On loopback they
    %% usually reach the port's receive queue within that call, but not
    %% always: when softirqs are deferred to ksoftirqd (a loaded machine)
    %% they arrive later, and a read in between sees only some of them
    %% (seen under two busy loops: an active socket delivered 2 of 3 bytes).
    %% The step ends once they have arrived (PROTOCOL.md, peer_write).
    case socket:send(St#st.peer, payload(Tag, Len), [], ?BOUND) of
        ok -> peer_wrote(St, Len);
        %% CL-3: the port's socket closed with unread input (a real-clock
        %% send timer with send_timeout_close can fire before this op):
        %% the reset is reported once, then the socket is gone.
        {error, econnreset} -> {#{peer => reset}, [], settle(St)};
        {error, epipe} -> {#{peer => eof}, [], settle(St)};
        E -> fail("peer_write of ~p bytes: ~0p (the port's receive buffer is full?)", [Len, E])
    end;

%% PC-*, RS-1: the peer ends the connection; the step ends once the port's
%% socket has the FIN or the RST (PROTOCOL.md, peer_shutdown/peer_reset).
apply_op(#{<<"op">> := <<"peer_shutdown">>}, St) ->
    ok = socket:shutdown(St#st.peer, write),
    Deadline = erlang:monotonic_time(millisecond) + ?BOUND,
    await_end(St, fin, Deadline),
    {none, [], settle(await_reaction(St, fin, Deadline))};

apply_op(#{<<"op">> := <<"peer_reset">>}, St) ->
    ok = socket:setopt(St#st.peer, {socket, linger}, #{onoff => true, linger => 0}),
    ok = socket:close(St#st.peer),
    Deadline = erlang:monotonic_time(millisecond) + ?BOUND,
    await_end(St, rst, Deadline),
    {none, [], settle(await_reaction(St, rst, Deadline))};

%% SD-*: the owner shuts the port's socket down; the driver answers at
%% once (with output queued it shuts once the queue has emptied). A
%% read_write made at once ends an active port's input as the peer's FIN
%% does (SD-4): the step ends once the port has read that end, as after
%% peer_shutdown.
apply_op(#{<<"op">> := <<"shutdown">>, <<"how">> := How}, #st{s = S} = St) ->
    H = case How of
            <<"write">> -> write;
            <<"read_write">> -> read_write;
            _ -> fail("shutdown: unknown how ~0p", [How])
        end,
    Queued = erlang:port_info(S, queue_size),
    R = case caught(fun() -> gen_tcp:shutdown(S, H) end) of
            ok -> #{<<"Ok">> => null};
            {error, E} -> #{<<"Err">> => posix(shutdown, E)};
            Other -> fail("shutdown: ~0p", [Other])
        end,
    St1 = case {H, R, Queued} of
              {read_write, #{<<"Ok">> := null}, {queue_size, 0}} ->
                  await_reaction(St, fin, erlang:monotonic_time(millisecond) + ?BOUND);
              _ -> St
          end,
    {#{shutdown => R}, [], settle(St1)};

apply_op(#{<<"op">> := <<"recv">>}, #st{s = S} = St) ->
    R = case caught(fun() -> gen_tcp:recv(S, 0, 0) end) of
            {ok, D} -> #{<<"Ok">> => binary_to_list(D)};
            {error, E} -> #{<<"Err">> => posix(recv, E)};
            Other -> fail("recv: ~0p", [Other])
        end,
    {#{recv => R}, [], settle(St)};

%% RX-7..RX-11: the reader's gen_tcp:recv(S, Len, T), T the op's
%% `timeout` (absent or null: infinity). It returns within the step when it
%% can (Len bytes already buffered, the connection already ended, a
%% timeout of 0), else waits; settle/1 runs it until it waits or its
%% result is collected, in this step or the one that returns it. A timed
%% recv's timer runs on the real clock: when it was made (the model's
%% clock and ours) is kept for advance_time/2. Measured on the inet
%% driver only (abilities.recv_wait).
apply_op(#{<<"op">> := <<"recv_wait">>}, #st{backend = socket}) ->
    {unsupported, <<"recv_wait: a reader blocked in gen_tcp:recv(S, Len, T) was measured on the inet "
                    "driver only (RX-7..RX-11); the socket backend's recv differs">>};
apply_op(#{<<"op">> := <<"recv_wait">>, <<"len">> := Len} = Op, #st{reader = idle, s = S} = St)
  when is_integer(Len), Len >= 0 ->
    T = case maps:get(<<"timeout">>, Op, null) of
            null -> infinity;
            Ms when is_integer(Ms), Ms >= 0 -> Ms;
            Bad -> fail("recv_wait: timeout ~0p is not a number of ms >= 0", [Bad])
        end,
    Since = case T of
                infinity -> undefined;
                _ -> {St#st.vnow, erlang:monotonic_time(millisecond), T}
            end,
    Pid = spawn_link(?MODULE, reader, [self(), S, Len, T]),
    {none, [], settle(St#st{reader = {waiting, Pid}, reader_since = Since})};
apply_op(#{<<"op">> := <<"recv_wait">>} = Op, St) ->
    fail("recv_wait ~0p: only with a length >= 0 and while the reader is idle (it is ~0p)",
         [Op, reader_view(St)]);

apply_op(#{<<"op">> := <<"mailbox">>}, St) ->
    {Msgs, St1} = drain_owner(St#st.s, [], St),
    {#{mailbox => Msgs}, [], settle(St1)};

apply_op(#{<<"op">> := <<"quiesce">>}, St) ->
    {none, [], settle(St)};

apply_op(#{<<"op">> := <<"await_io">>}, St) ->
    {none, [], await_io(St)};

apply_op(#{<<"op">> := <<"await_peer">>}, St) ->
    %% A peeking read blocks until the peer's socket is readable (data, EOF
    %% or a reset). A reset is reported by the kernel once, here, so it is
    %% kept for the next peer_read (CL-3).
    Reset = case socket:recv(St#st.peer, 1, [peek], ?BOUND) of
                {ok, _} -> false;
                {error, closed} -> false;
                {error, econnreset} -> true;
                {error, timeout} -> fail("await_peer: the peer's socket not readable within ~p ms", [?BOUND]);
                E -> fail("await_peer: socket:recv: ~0p", [E])
            end,
    {none, [], settle(St#st{peer_reset = St#st.peer_reset orelse Reset})};

apply_op(#{<<"op">> := <<"advance_time">>, <<"by">> := By}, St) ->
    {none, [], advance_time(By, St)};

apply_op(#{<<"op">> := <<"set_opts">>, <<"opts">> := Opts}, #st{s = S} = St) ->
    ErlOpts = [to_erl_opt(O) || O <- Opts],
    R = case inet:setopts(S, ErlOpts) of
            ok -> #{<<"Ok">> => null};
            {error, E} -> #{<<"Err">> => posix(setopts, E)}
        end,
    St1 = note_opts(Opts, refresh_send_timeout(St)),
    {#{set_opts => R}, [], settle(St1)};

apply_op(#{<<"op">> := <<"get_opts">>}, #st{s = S} = St) ->
    case port_options(S) of
        {ok, PO} -> {#{opts => PO}, [], settle(St)};
        {missing, Why} -> {unsupported, fmt("getopts on the port under test: ~s", [Why])}
    end;

apply_op(#{<<"op">> := <<"queue_size">>}, St) ->
    {#{queue_size => queue_size(St)}, [], settle(St)};

apply_op(#{<<"op">> := Lock}, _St) when Lock =:= <<"contend_lock">>; Lock =:= <<"release_lock">> ->
    {unsupported, <<"the BEAM offers no way to hold a port's lock from outside the port "
                    "(MQ-1 lock contention cannot be produced on demand)">>};

apply_op(#{<<"op">> := <<"accept">>}, #st{lsock = L, lport = LPort} = St) ->
    {ok, C} = socket:open(inet, stream, tcp),
    ok = socket:connect(C, #{family => inet, addr => {127, 0, 0, 1}, port => LPort}, ?BOUND),
    case gen_tcp:accept(L, ?BOUND) of
        {ok, A} ->
            case port_options(A) of
                {ok, PO} ->
                    {#{accept => #{accepted => PO}}, [], settle(St#st{accepted = [{A, C} | St#st.accepted]})};
                {missing, Why} ->
                    gen_tcp:close(A), socket:close(C),
                    {unsupported, fmt("accept returned {ok,_} (ports in use: ~p of ~p) but getopts "
                                      "on the accepted socket: ~s",
                                      [erlang:system_info(port_count), erlang:system_info(port_limit), Why])}
            end;
        {error, timeout} ->
            fail("accept: no connection accepted within ~p ms", [?BOUND]);
        {error, E} ->
            Error = posix(accept, E),
            Eof = peer_eof(C),
            socket:close(C),
            {#{accept => #{failed => #{error => Error, peer_eof => Eof}}}, [], settle(St)}
    end;

apply_op(#{<<"op">> := <<"close_accepted">>}, St) ->
    case St#st.accepted of
        [{A, C} | Rest] ->
            R = gen_tcp:close(A),
            socket:close(C),
            {#{closed => result(close, R)}, [], settle(St#st{accepted = Rest})};
        [] ->
            fail("close_accepted: no accepted port is open", [])
    end;

apply_op(#{<<"op">> := <<"open_extra">>}, St) ->
    BOpt = case St#st.backend of socket -> [{inet_backend, socket}]; inet -> [] end,
    case gen_tcp:connect({127, 0, 0, 1}, St#st.xport, BOpt ++ [binary, {active, false}], ?BOUND) of
        {ok, P} -> {#{opened => #{<<"Ok">> => null}}, [],
                    settle(St#st{extras = [P | St#st.extras], extra_opened = true})};
        {error, E} -> {#{opened => #{<<"Err">> => posix(connect, E)}}, [], settle(St)}
    end;

apply_op(#{<<"op">> := <<"close">>}, #st{closer = undefined, s = S} = St) ->
    %% gen_tcp:close waits for the driver queue to empty (prim_inet
    %% close_pend_loop): run it in a process, the step ends when it is done
    %% or waiting.
    Pid = spawn_link(?MODULE, closer, [self(), S]),
    St1 = settle(St#st{closer = Pid}),
    receive
        {closed, S, R} -> {#{closed => result(close, R)}, [], St1#st{closer = done}}
    after 0 ->
        {#{closed => #{<<"Ok">> => null}}, [],
         add_note("gen_tcp:close is still waiting for the driver queue to empty (prim_inet close_pend_loop); "
                  "the port stays open until then", [], St1)}
    end;
apply_op(#{<<"op">> := <<"close">>}, St) ->
    %% Closing again: gen_tcp:close on a closed port.
    R = gen_tcp:close(St#st.s),
    {#{closed => result(close, R)}, [], settle(St)};

apply_op(Op, _St) ->
    fail("unknown op ~0p", [Op]).


%% SND-7, SND-8: `Op` kills sender `Id` if its status is `Want`
%% (suspended, or waiting for its reply); a sender found in another state
%% skips the case, saying why it left `Want` (`Left`).
kill_sender_in(Op, Id, Want, Left, St) ->
    (Id >= 0 andalso Id < St#st.n_senders) orelse fail("~s: no sender ~p", [Op, Id]),
    case status(Id, St) of
        Want -> kill_sender(Id, St);
        Other -> {unsupported, fmt("~s: sender ~p is ~p, not ~p: it ~s", [Op, Id, Other, Want, Left])}
    end.

%% SND-7, SND-8: the kill itself, of a sender the port holds suspended or
%% of the caller blocked on its reply. A result the process sent before it
%% died, not taken yet, is dropped: it was the dead process's.
kill_sender(Id, St) ->
    Old = element(Id + 1, St#st.senders),
    true = unlink(Old),
    Ref = erlang:monitor(process, Old),
    exit(Old, kill),
    receive {'DOWN', Ref, process, Old, _} -> ok
    after ?BOUND -> fail("kill: sender ~p still alive after ~p ms", [Id, ?BOUND])
    end,
    drop_results(Id),
    New = spawn_link(?MODULE, sender_loop, [self(), Id, St#st.s, command_format()]),
    St1 = St#st{senders = setelement(Id + 1, St#st.senders, New),
                outstanding = maps:remove(Id, St#st.outstanding)},
    {none, [], settle(St1)}.

drop_port_messages(S) ->
    receive
        {tcp, S, _} -> drop_port_messages(S);
        {tcp_closed, S} -> drop_port_messages(S);
        {tcp_passive, S} -> drop_port_messages(S);
        {tcp_error, S, _} -> drop_port_messages(S)
    after 0 -> ok
    end.

drop_results(Id) ->
    receive {send_done, Id, _} -> drop_results(Id)
    after 0 -> ok
    end.

%% CL-5: the kill itself (see apply_op kill_port). A port already gone
%% answers the monitor at once (noproc).
kill_port(S) ->
    true = unlink(S),
    port_goes("kill_port", "exit(S, kill)", S, fun() -> exit(S, kill) end).

%% CL-5, CL-6: `Kill` (`What`), run by a killer process of its own, ends
%% the port under test; wait (bounded) for the killer to be done, the
%% port's monitor's 'DOWN' and the table's count to catch up.
port_goes(Op, What, S, Kill) ->
    Deadline = erlang:monotonic_time(millisecond) + ?BOUND,
    Mon = erlang:monitor(port, S),
    {Killer, KMon} = spawn_monitor(Kill),
    receive {'DOWN', KMon, process, Killer, _} -> ok
    after ?BOUND -> fail("~s: the killer ~p still alive after ~p ms", [Op, Killer, ?BOUND])
    end,
    receive {'DOWN', Mon, port, S, _} -> ok
    after max(0, Deadline - erlang:monotonic_time(millisecond)) ->
        fail("~s: the port under test still there ~p ms after ~s: ~0p",
             [Op, ?BOUND, What, caught(fun() -> erlang:port_info(S) end)])
    end,
    await_port_count(Deadline).

%% The table's count catches up with erlang:ports() a little after a port
%% left it (await_ports_closed/2): wait (bounded) for it, so that the
%% step's `ports` counts the killed port out.
await_port_count(Deadline) ->
    case erlang:system_info(port_count) - length(erlang:ports()) of
        Lag when Lag =< 0 -> ok;
        Lag ->
            erlang:monotonic_time(millisecond) > Deadline
                andalso fail("port_count ~p ahead of erlang:ports() ~p ms after the port under test ended", [Lag, ?BOUND]),
            erlang:yield(),
            await_port_count(Deadline)
    end.

result(_, ok) -> #{<<"Ok">> => null};
result(What, {error, E}) -> #{<<"Err">> => posix(What, E)}.

posix(_, timeout) -> timeout;
posix(_, closed) -> closed;
posix(_, enotconn) -> enotconn;
posix(_, einval) -> einval;
posix(_, system_limit) -> system_limit;
posix(_, econnreset) -> econnreset;
posix(_, ealready) -> ealready;
posix(What, Other) -> fail("~p returned {error,~0p}, which the protocol cannot express", [What, Other]).

send_result(ok) -> ok;
send_result(false) -> false;
send_result({error, {timeout, Rest}}) -> {error_rest, timeout, iolist_size(Rest)};
send_result({error, E}) -> {error, posix(send, E)}.

%% The client's view after a failed accept: EOF if the accepted fd was
%% closed. On loopback the FIN is queued before close(2) returns; the
%% bounded wait only decides the unexpected case.
peer_eof(C) ->
    case socket:recv(C, 1, [], 0) of
        {error, closed} -> true;
        {error, econnreset} -> true;
        {ok, _} -> false;
        {error, timeout} ->
            case socket:recv(C, 1, [], 1000) of
                {error, closed} -> true;
                {error, econnreset} -> true;
                _ -> false
            end;
        _ -> false
    end.

port_options(P) ->
    Keys = [high_watermark, low_watermark, high_msgq_watermark, low_msgq_watermark,
            delay_send, send_timeout, send_timeout_close, active],
    case inet:getopts(P, Keys) of
        {ok, L} ->
            case [K || K <- Keys, not lists:keymember(K, 1, L)] of
                [] ->
                    G = fun(K) -> proplists:get_value(K, L) end,
                    {ok, #{high => G(high_watermark), low => G(low_watermark),
                           high_msgq => G(high_msgq_watermark), low_msgq => G(low_msgq_watermark),
                           delay_send => G(delay_send),
                           send_timeout => case G(send_timeout) of infinity -> infinity; T -> #{'after' => T} end,
                           send_timeout_close => G(send_timeout_close),
                           active => case G(active) of
                                         false -> passive;
                                         true -> always;
                                         once -> once;
                                         N when is_integer(N) -> #{count => N}
                                     end}};
                Missing ->
                    {missing, fmt("inet:getopts returned no ~0p (got ~0p)", [Missing, L])}
            end;
        E ->
            {missing, fmt("inet:getopts returned ~0p", [E])}
    end.

queue_size(#st{backend = socket}) -> 0;
queue_size(#st{s = S}) ->
    case erlang:port_info(S, queue_size) of
        {queue_size, N} -> N;
        undefined -> 0
    end.

drain_owner(S, Acc, St) ->
    receive
        {tcp, S, D} -> drain_owner(S, [#{tcp => binary_to_list(D)} | Acc], St);
        {tcp_passive, S} -> drain_owner(S, [tcp_passive | Acc], St);
        %% The socket backend's tcp_closed/tcp_error (its server closing the
        %% socket on a send timeout, say) are not modelled yet: notes.
        {tcp_closed, S} when St#st.backend =:= socket ->
            drain_owner(S, Acc, add_note("owner got {tcp_closed,S} (not modelled on the socket backend)", [], St));
        {tcp_error, S, E} when St#st.backend =:= socket ->
            drain_owner(S, Acc, add_note("owner got {tcp_error,S,~0p} (not modelled on the socket backend)", [E], St));
        {tcp_closed, S} -> drain_owner(S, [tcp_closed | Acc], St#st{end_delivered = true});
        {tcp_error, S, E} -> drain_owner(S, [#{tcp_error => posix(tcp_error, E)} | Acc], St)
    after 0 ->
        {lists:reverse(Acc), St}
    end.

%% ---------------------------------------------------------------------------
%% time

%% The BEAM's clock cannot be advanced. advance_time{by} moves the model's
%% (virtual) clock and waits in real time, but only for an event it
%% expects. First the reader's timed recv (RX-11): made at virtual time V
%% and real time R with a timeout T, it is due when V + T =< vnow + by;
%% then its real timer must fire (the driver armed it after R): wait
%% (bounded: R + T + ?BOUND) for the reader's return. Then the senders:
%% when a sender has been waiting on a busy port since virtual time V and
%% its send_timeout T is due by the new virtual time (V + T =< vnow + by),
%% the real timer must fire: wait (bounded: T real ms after the sender was
%% first seen waiting, plus ?BOUND) for that sender's reply. Otherwise
%% return at once. (A real timer may fire earlier than the model's clock
%% says; the model allows that, real_clock in `ready`. The recv's timer
%% and a send timer run each on its own, RX-11.)
%% The send timer is armed when the port goes busy, with the send_timeout then in
%% effect (a later setopts does not re-arm it).
%%
%% The inet driver keeps one busy caller and one send timer per port: a
%% send that makes the port busy again while it is busy (a force send)
%% takes both over, and the earlier caller's reply is never sent. So on the
%% inet backend only the senders that became waiting last can hold the
%% timer, and the reply of one of them is what is waited for; and not even
%% they when a send issued after they were seen waiting held the slot since
%% (it was seen waiting, or it timed out: `armed_at`), for they were
%% displaced. The socket
%% backend times each send on its own: every due sender is waited for.
advance_time(By, #st{vnow = V0} = St0) ->
    V = V0 + By,
    St = await_reader_timeout(St0#st{vnow = V}),
    Waiting = maps:to_list(St#st.waiting_since),
    Holders = case St#st.backend of
                  socket -> Waiting;
                  %% CL-5: the killed port's send timers went with it.
                  inet when St#st.killed -> [];
                  inet when Waiting =:= [] -> [];
                  inet ->
                      %% (monotonic time may be negative: no sentinel)
                      Last = lists:max([Q || {_, {_, _, _, Q}} <- Waiting]),
                      [W || {_, {_, _, _, Q}} = W <- Waiting, Q =:= Last,
                            St#st.armed_at =:= undefined orelse Q > St#st.armed_at]
              end,
    Due = [{Id, RealSince + T} || {Id, {VSince, RealSince, T, _}} <- Holders,
                                  is_integer(T), VSince + T =< V],
    Need = case St#st.backend of socket -> all; inet -> any end,
    case Due of
        [] -> settle(St);
        _ ->
            Deadline = lists:max([D || {_, D} <- Due]) + ?BOUND,
            wait_replies([Id || {Id, _} <- Due], Need, Deadline, St)
    end.

wait_replies(Ids, Need, Deadline, St) ->
    St1 = settle(St),
    Left = [Id || Id <- Ids, maps:is_key(Id, St1#st.outstanding), status(Id, St1) =:= waiting],
    case Left of
        [] -> St1;
        _ when Need =:= any, length(Left) < length(Ids) -> St1;
        _ ->
            Rem = Deadline - erlang:monotonic_time(millisecond),
            receive
                {send_done, Id, R} -> wait_replies(Ids, Need, Deadline, got_done(Id, R, St1))
            after max(0, Rem) ->
                case Rem =< 0 of
                    true -> fail("advance_time: the send_timeout of sender(s) ~p did not fire within its due time + ~p ms",
                                 [Left, ?BOUND]);
                    false -> wait_replies(Ids, Need, Deadline, St1)
                end
            end
    end.

%% RX-11: the reader's timed recv is due by the model's clock: its result
%% must come by the real deadline (it may have come already: the real
%% timer can fire earlier than the model's clock says, or the bytes came).
%% Not on a killed port: the recv's timer went with it, and a recv the
%% driver did not answer as it died (a port killed busy: tcp_close_check
%% answers the waiting recv only in state INET_STATE_CONNECTED, which
%% INET_F_BUSY leaves) waits for good.
await_reader_timeout(#st{killed = true} = St) ->
    St;
await_reader_timeout(#st{reader = {waiting, _}, reader_since = {VSince, RealSince, T}, vnow = V} = St)
  when VSince + T =< V ->
    wait_reader(RealSince + T + ?BOUND, St);
await_reader_timeout(St) ->
    St.

wait_reader(Deadline, St) ->
    St1 = settle(St),
    case St1#st.reader of
        {waiting, Pid} ->
            Rem = Deadline - erlang:monotonic_time(millisecond),
            receive
                {reader_done, Pid, R} -> wait_reader(Deadline, St1#st{reader = {returned, reader_result(R)}})
            after max(0, Rem) ->
                case Rem =< 0 of
                    true ->
                        {VSince, _, T} = St1#st.reader_since,
                        fail("advance_time: the reader's gen_tcp:recv(S, _, ~p) made at virtual ~p ms is due "
                             "at ~p ms by the model's clock (now ~p ms), but it did not return within its "
                             "timeout + ~p ms of real time (reader ~0p)",
                             [T, VSince, VSince + T, St1#st.vnow, ?BOUND,
                              caught(fun() -> erlang:process_info(Pid, [status, current_function]) end)]);
                    false -> wait_reader(Deadline, St1)
                end
            end;
        _ ->
            St1
    end.

%% await_io: wait (bounded) until an I/O event changes something observable,
%% or bytes of the port's output reach the peer (as the native runtime's
%% await_io also returns when the peer's fd turns readable). On the socket
%% backend a pending send often cannot finish before the peer reads more:
%% its bytes wait in the kernel behind the peer's receive window, which a
%% read of the peer's small buffer may not reopen; then they arrive with
%% the zero-window probe, whose timer backs off (0.2, 0.4, 0.8 ... s) for
%% as long as the window stayed closed, so on a loaded machine the next
%% probe can be seconds away. Their arrival is the event to report, so the
%% executor's peer reads go on (PROTOCOL.md, await_io).
await_io(St) ->
    St0 = settle(St),
    Deadline = erlang:monotonic_time(millisecond) + ?BOUND,
    await_io(snapshot(St0), Deadline, St0).

%% The owner's port messages, which settling leaves in the mailbox for
%% `mailbox`, are not events here; any other message is. The bound is
%% checked on every round, so a mailbox that keeps changing without
%% changing what is observed still ends in an error.
await_io(Snap, Deadline, St) ->
    erlang:yield(),
    Changed = other_message() orelse queue_size(St) =/= element(1, Snap),
    St1 = case Changed of
              true -> settle(St);
              false -> St
          end,
    case Changed andalso snapshot(St1) =/= Snap of
        true -> St1;
        false ->
            case peer_readable(St1) of
                {true, St2} -> settle(St2);
                {false, _} ->
                    case erlang:monotonic_time(millisecond) > Deadline of
                        true -> fail("await_io: no I/O event within ~p ms (~s; mailbox ~0p)",
                                     [?BOUND, kernel_view(St1), mailbox_heads()]);
                        false -> await_io(Snap, Deadline, St1)
                    end
            end
    end.

other_message() ->
    {messages, Ms} = erlang:process_info(self(), messages),
    not lists:all(fun owner_message/1, Ms).

owner_message({tcp, _, _}) -> true;
owner_message({tcp_passive, _}) -> true;
owner_message({tcp_closed, _}) -> true;
owner_message({tcp_error, _, _}) -> true;
owner_message(_) -> false.

%% The first messages waiting, abbreviated, for an error message.
mailbox_heads() ->
    {messages, Ms} = erlang:process_info(self(), messages),
    [lists:flatten(io_lib:format("~P", [M, 6])) || M <- lists:sublist(Ms, 3)].

%% Bytes are waiting in the peer's receive queue, or it was reset (the
%% peek takes the reset, which the kernel reports once: kept for the next
%% peer_read, as await_peer does). EOF is not an event here: it stays
%% readable.
peer_readable(#st{peer = P} = St) ->
    case socket:recv(P, 1, [peek], 0) of
        {ok, <<_>>} -> {true, St};
        {error, econnreset} -> {true, St#st{peer_reset = true}};
        _ -> {false, St}
    end.

%% ---------------------------------------------------------------------------
%% reaching a stable state

%% Repeat {timer barrier, I/O barrier, wait for senders to be stable} until
%% nothing observable changes across one round.
settle(St) -> settle(St, 0).

settle(_St, Round) when Round > 200 ->
    fail("did not reach a stable state within ~p rounds", [Round]);
settle(St, Round) ->
    Snap0 = snapshot(St),
    timer_barrier(St),
    io_barrier(St),
    St1 = stabilize(St, erlang:monotonic_time(millisecond) + ?BOUND),
    case snapshot(St1) of
        Snap0 ->
            sysmsg_barrier(St1),
            collect(St1);
        _ -> settle(St1, Round + 1)
    end.

%% busy_port monitor messages are delivered by ERTS's system-message
%% dispatcher thread, asynchronously and in order. A throwaway process
%% suspending on the sentinel port raises one more busy_port event; once it
%% arrives every event raised before it has been delivered.
sysmsg_barrier(#st{sentinel = {Sen, _, _}}) ->
    H = spawn(fun() -> erlang:port_command(Sen, <<0>>) end),
    receive
        {monitor, H, busy_port, Sen} -> exit(H, kill), ok
    after ?BOUND ->
        fail("system-message barrier: no busy_port event for the sentinel within ~p ms (~0p)",
             [?BOUND, caught(fun() -> erlang:process_info(H, [status, current_function]) end)])
    end.

wait_status(P, Want, Deadline) ->
    case erlang:process_info(P, status) of
        {status, Want} -> ok;
        Other ->
            erlang:monotonic_time(millisecond) > Deadline
                andalso fail("process ~p never reached status ~p (~0p)", [P, Want, Other]),
            erlang:yield(),
            wait_status(P, Want, Deadline)
    end.

snapshot(St) ->
    {queue_size(St), [status(Id, St) || Id <- lists:seq(0, St#st.n_senders - 1)],
     length(St#st.done), closer_status(St), reader_status(St)}.

%% Zero-delay driver timers (delay_send flush, send_timeout 0) fire before a
%% 1 ms timer of ours; with one scheduler the port task they schedule is
%% ahead of the I/O barrier's.
timer_barrier(#st{timers = false}) -> ok;
timer_barrier(_) ->
    Ref = make_ref(),
    erlang:send_after(1, self(), {timer_barrier, Ref}),
    receive {timer_barrier, Ref} -> ok end.

%% One byte through each probe pair. A port's I/O event reaches its port
%% task in one of two ways: the poll thread takes it from its pollset and
%% schedules the task, or, for an fd the port never deselects (an active
%% port's, and the port under test's after a run of reads), from the
%% scheduler pollset, which the scheduler polls itself when it runs out of
%% work; an fd moves there after its 12th event without a deselect
%% (measured on OTP 25, 27 and 29 with erlang:system_info(check_io); the
%% port under test moved after a few rounds of recv_wait on OTP 25 and 29).
%% Each pollset hands out its events in the order the kernel signalled them,
%% and with one scheduler port tasks run in order. So the barrier has a
%% probe in each: the first reads in {active, once}, armed for each barrier,
%% so its fd is deselected after every byte and stays with the poll thread;
%% the second is active and was moved to the scheduler pollset at setup
%% (warm_up/2). When both bytes have arrived, every ready-output/input task
%% of S for an event the kernel signalled before the writes has run,
%% whichever pollset S's fd is in. (With the probe in the poll thread's
%% pollset only, a reader's recv completed by a peer_write was seen still
%% waiting at the end of the step on OTP 27 and 29, S's fd having moved.)
io_barrier(#st{probe_in = In, probe_out = Out, sched_in = SIn, sched_out = SOut}) ->
    ok = inet:setopts(In, [{active, once}]),
    ok = socket:send(Out, <<0>>),
    ok = socket:send(SOut, <<0>>),
    await_probe(In, "poll thread"),
    await_probe(SIn, "scheduler pollset").

await_probe(In, Which) ->
    receive
        {tcp, In, _} -> ok
    after ?BOUND ->
        fail("I/O barrier: probe byte (~s) not delivered within ~p ms", [Which, ?BOUND])
    end.

%% Move the active probe's fd to the scheduler pollset: one byte at a time,
%% each an event of its own. For ready.info: whether the scheduler
%% pollset took one more fd (<<"none">>: this node has none).
warm_up(In, Out) ->
    Before = sched_pollset_size(),
    lists:foreach(fun(_) ->
                          ok = socket:send(Out, <<0>>),
                          await_probe(In, "warm-up")
                  end, lists:seq(1, ?WARM_UP)),
    case {Before, sched_pollset_size()} of
        {[B], [A]} when A > B -> <<"in the scheduler pollset">>;
        {[], _} -> <<"none">>;
        _ -> <<"not in the scheduler pollset">>
    end.

%% The scheduler pollset's size: the pollset no poll thread waits on, other
%% than the fallback one.
sched_pollset_size() ->
    Sets = case caught(fun() -> erlang:system_info(check_io) end) of
               L when is_list(L) -> L;
               _ -> []
           end,
    [proplists:get_value(total_poll_set_size, I)
     || I <- Sets, is_list(I), proplists:get_value(poll_threads, I) =:= 0,
        proplists:get_value(fallback, I) =:= false].

%% Wait until every sender with a send in flight is finished, waiting for
%% its reply or suspended (and the closer, the reader and the socket
%% backend's server process are not runnable). Polls process_info with
%% yields, bounded. A reader that returned sent its result before it
%% ended: once it is gone, the collect below takes the result.
stabilize(St, Deadline) ->
    St1 = collect(St),
    Unstable = [Id || Id <- maps:keys(St1#st.outstanding), not stable_proc(element(Id + 1, St1#st.senders))]
        ++ [closer || is_pid(St1#st.closer), not stable_proc(St1#st.closer)]
        ++ [reader || {waiting, P} <- [St1#st.reader], not stable_proc(P)]
        ++ [server || is_pid(St1#st.s_server), not stable_proc(St1#st.s_server)],
    case Unstable of
        [] ->
            St2 = collect(St1),
            note_waiting(St2);
        _ ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> fail("senders ~0p not stable within ~p ms: ~0p",
                             [Unstable, ?BOUND,
                              [{Id, caught(fun() -> erlang:process_info(element(Id + 1, St1#st.senders), [status, current_function]) end)}
                               || Id <- maps:keys(St1#st.outstanding)]]);
                false ->
                    erlang:yield(),
                    stabilize(St1, Deadline)
            end
    end.

stable_proc(P) ->
    case erlang:process_info(P, [status, message_queue_len]) of
        undefined -> true;
        [{status, suspended}, _] -> true;
        [{status, waiting}, {message_queue_len, _}] -> true;
        _ -> false
    end.

note_waiting(St) ->
    Now = erlang:monotonic_time(millisecond),
    {W, Armed} = maps:fold(fun(Id, Issued, {Acc, A}) ->
                          case status(Id, St) of
                              waiting ->
                                  A1 = case maps:is_key(Id, St#st.waiting_since) of
                                           true -> A;
                                           false -> later(A, Issued)
                                       end,
                                  First = {St#st.vnow, Now, St#st.send_timeout, seq()},
                                  {maps:put(Id, maps:get(Id, St#st.waiting_since, First), Acc), A1};
                              _ -> {Acc, A}
                          end
                  end, {#{}, St#st.armed_at}, St#st.outstanding),
    St#st{waiting_since = W, armed_at = Armed}.

%% The order of adapter events (a send issued, a sender first seen
%% waiting): strictly increasing, where two monotonic-clock readings a
%% millisecond apart may be equal. Whether a waiting sender was displaced
%% from the busy-caller slot is decided by this order (`advance_time`);
%% with millisecond readings a force send issued in the millisecond the
%% earlier caller was first seen waiting left that caller counted as the
%% slot's holder, and advance_time waited out the bound for a reply the
%% driver never sends (swarm seed 101, case 43, OTP 25.2.3).
seq() -> erlang:unique_integer([monotonic]).

later(A, undefined) -> A;
later(undefined, T) -> T;
later(A, T) -> max(A, T).

%% Take sender results and busy_port events from the mailbox (leaving the
%% owner's port messages for `mailbox`).
collect(St) ->
    receive
        {send_done, Id, R} -> collect(got_done(Id, R, St));
        {monitor, Pid, busy_port, Port} when Port =:= St#st.s ->
            case sender_id(Pid, St) of
                undefined -> collect(add_note("busy_port event on the port under test for non-sender ~0p", [Pid], St));
                Id -> collect(St#st{busy_events = [Id | St#st.busy_events]})
            end;
        {monitor, _, busy_port, _} ->
            %% another port (e.g. the adapter's own stdout): not observed
            collect(St);
        {closed, S, R} when S =:= St#st.s ->
            collect(add_note("gen_tcp:close returned ~0p", [R], St#st{closer = done}));
        {reader_done, Pid, R} when St#st.reader =:= {waiting, Pid} ->
            collect(St#st{reader = {returned, reader_result(R)}})
    after 0 ->
        St
    end.

got_done(Id, R, St) ->
    {Res, St1} = case send_result(R) of
                     {error_rest, E, N} ->
                         {#{error => E}, add_note("sender ~p: send returned {error,{~p,Rest}} with ~p bytes unsent",
                                                  [Id, E, N], St)};
                     {error, E} -> {#{error => E}, St};
                     false -> {<<"false">>, St};  % SendResult::False is the string "false"
                     ok -> {ok, St}
                 end,
    %% A send that timed out held the busy-caller slot (inet): a caller
    %% seen waiting before it was issued was displaced.
    Armed = case Res of
                #{error := timeout} -> later(St1#st.armed_at, maps:get(Id, St1#st.outstanding, undefined));
                _ -> St1#st.armed_at
            end,
    St1#st{done = [{Id, Res} | St1#st.done], armed_at = Armed,
           outstanding = maps:remove(Id, St1#st.outstanding),
           waiting_since = maps:remove(Id, St1#st.waiting_since)}.

sender_id(Pid, St) ->
    L = tuple_to_list(St#st.senders),
    case lists:search(fun({P, _}) -> P =:= Pid end, lists:zip(L, lists:seq(0, length(L) - 1))) of
        {value, {_, Id}} -> Id;
        false -> undefined
    end.

status(Id, St) ->
    case maps:is_key(Id, St#st.outstanding) of
        false -> idle;
        true ->
            case erlang:process_info(element(Id + 1, St#st.senders), status) of
                {status, suspended} -> suspended;
                {status, waiting} -> waiting;
                {status, Other} -> Other
            end
    end.

closer_status(#st{closer = P}) when is_pid(P) -> erlang:process_info(P, status);
closer_status(#st{closer = C}) -> C.

%% The reader for snapshot/1: its process's status while its recv waits.
reader_status(#st{reader = {waiting, P}}) -> {waiting, erlang:process_info(P, status)};
reader_status(#st{reader = R}) -> R.

%% The reader as the observation shows it (`reader`, absent while idle):
%% `unstable` while its process is runnable or has ended with its result
%% not yet collected (observe/3 settles again).
reader_view(#st{reader = idle}) -> idle;
reader_view(#st{reader = {waiting, P}}) ->
    case erlang:process_info(P, status) of
        {status, waiting} -> waiting;
        _ -> unstable
    end;
reader_view(#st{reader = {returned, R}}) -> {returned, R}.

reader_result({ok, D}) when is_binary(D) -> #{<<"Ok">> => binary_to_list(D)};
reader_result({error, E}) -> #{<<"Err">> => posix(recv_wait, E)};
reader_result(Other) -> fail("recv_wait: gen_tcp:recv returned ~0p", [Other]).

%% A result is reported in the observation of the step it arrived in, and
%% only there: after it the reader is idle again.
reported_reader(#st{reader = {returned, _}} = St) -> St#st{reader = idle};
reported_reader(St) -> St.

%% The observation is taken from one consistent moment: every sender
%% stable, and no result or busy_port event arriving while it is taken. A
%% kernel event signalled after the I/O barrier (e.g. an ACK processed late
%% by ksoftirqd under load) can break that; then settle again.
observe(Reply, St) -> observe(Reply, St, 0).

observe(Reply0, St0, N) ->
    Senders = [status(Id, St0) || Id <- lists:seq(0, St0#st.n_senders - 1)],
    Queue = queue_size(St0),
    Ports = erlang:system_info(port_count) - St0#st.offset
        + case St0#st.plant =:= miscount_extra andalso St0#st.extra_opened of true -> 1; false -> 0 end,
    Reader = reader_view(St0),
    St1 = collect(St0),
    Consistent = lists:all(fun(S) -> S =:= idle orelse S =:= waiting orelse S =:= suspended end, Senders)
        andalso St1#st.done =:= St0#st.done andalso St1#st.busy_events =:= St0#st.busy_events
        andalso Reader =/= unstable andalso St1#st.reader =:= St0#st.reader,
    if
        not Consistent, N >= 50 ->
            fail("no consistent observation after ~p settles (senders ~0p, reader ~0p)", [N, Senders, Reader]);
        not Consistent ->
            observe(Reply0, settle(St1), N + 1);
        true ->
            {Reply, St2} = own_reply(Reply0, St1),
            St3 = case N of
                      0 -> St2;
                      _ -> add_note("~p kernel event(s) arrived after the I/O barrier; settled again", [N], St2)
                  end,
            Obs = #{reply => Reply,
                    senders => Senders,
                    completed => [[Id, R] || {Id, R} <- lists:reverse(St3#st.done)],
                    busy_port_events => lists:reverse(St3#st.busy_events),
                    queue => Queue,
                    busy => null,
                    msgq => null,
                    ports => Ports},
            {case Reader of
                 idle -> Obs;
                 waiting -> Obs#{reader => waiting};
                 {returned, R} -> Obs#{reader => #{returned => R}}
             end, St3}
    end.

%% A send's own result: in the reply if it finished within the step.
own_reply({own_send, Id}, St) ->
    case lists:keytake(Id, 1, lists:reverse(St#st.done)) of
        {value, {Id, R}, Rest} -> {#{sent => R}, St#st{done = lists:reverse(Rest)}};
        false -> {#{sent => null}, St}
    end;
own_reply(Reply, St) ->
    {Reply, St}.

add_note(F, A, St) -> St#st{notes = [fmt(F, A) | St#st.notes]}.

%% ---------------------------------------------------------------------------
%% payload (reference::units::payload_byte)

payload(Tag, Len) ->
    T131 = Tag * 131,
    << <<((T131 bxor (I * 7) bxor ((I bsr 8) * 29)) band 255)>> || I <- lists:seq(0, Len - 1) >>.

%% ---------------------------------------------------------------------------
%% I/O and JSON

read_msg() ->
    case io:get_line(standard_io, "") of
        eof -> eof;
        {error, E} -> log("stdin: ~p~n", [E]), eof;
        Line -> decode_line(Line)
    end.

decode_line(Line) ->
    Bin = string:trim(Line, trailing, "\r\n"),
    try json_decode(Bin)
    catch _:_ ->
        emit(#{type => error, message => fmt("malformed line from the harness: ~s", [Bin])}),
        stop(2)
    end.

emit(Term) ->
    ok = io:put_chars(standard_io, [json(Term), $\n]).

fmt(F, A) ->
    Bin = iolist_to_binary(io_lib:format(F, A)),
    << <<(if C >= 32, C < 127 -> C; true -> $\s end)>> || <<C>> <= Bin >>.

json(true) -> <<"true">>;
json(false) -> <<"false">>;
json(null) -> <<"null">>;
json(I) when is_integer(I) -> integer_to_binary(I);
json(A) when is_atom(A) -> json(atom_to_binary(A));
json(B) when is_binary(B) -> [$", [esc(C) || <<C>> <= B], $"];
json(L) when is_list(L) -> [$[, join([json(X) || X <- L]), $]];
json(M) when is_map(M) ->
    [${, join([[json(K), $:, json(V)] || {K, V} <- maps:to_list(M)]), $}].

join([]) -> [];
join([H | T]) -> [H | [[$, | X] || X <- T]].

esc($") -> <<"\\\"">>;
esc($\\) -> <<"\\\\">>;
esc(C) when C < 32; C >= 127 -> io_lib:format("\\u~4.16.0b", [C]);
esc(C) -> C.

json_decode(Bin) ->
    {V, Rest} = jval(ws(Bin)),
    <<>> = ws(Rest),
    V.

ws(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> ws(R);
ws(B) -> B.

jval(<<${, R/binary>>) -> jobj(ws(R), #{});
jval(<<$[, R/binary>>) -> jarr(ws(R), []);
jval(<<$", R/binary>>) -> jstr(R, []);
jval(<<"true", R/binary>>) -> {true, R};
jval(<<"false", R/binary>>) -> {false, R};
jval(<<"null", R/binary>>) -> {null, R};
jval(B) -> jnum(B, []).

jobj(<<$}, R/binary>>, M) -> {M, R};
jobj(B, M) ->
    {K, R1} = jval(B),
    true = is_binary(K),
    <<$:, R2/binary>> = ws(R1),
    {V, R3} = jval(ws(R2)),
    M1 = M#{K => V},
    case ws(R3) of
        <<$,, R4/binary>> -> jobj(ws(R4), M1);
        <<$}, R4/binary>> -> {M1, R4}
    end.

jarr(<<$], R/binary>>, Acc) -> {lists:reverse(Acc), R};
jarr(B, Acc) ->
    {V, R1} = jval(B),
    case ws(R1) of
        <<$,, R2/binary>> -> jarr(ws(R2), [V | Acc]);
        <<$], R2/binary>> -> {lists:reverse([V | Acc]), R2}
    end.

jstr(<<$", R/binary>>, Acc) -> {unicode:characters_to_binary(lists:reverse(Acc)), R};
jstr(<<$\\, $u, H:4/binary, R/binary>>, Acc) -> jstr(R, [binary_to_integer(H, 16) | Acc]);
jstr(<<$\\, C, R/binary>>, Acc) ->
    D = case C of $n -> $\n; $t -> $\t; $r -> $\r; $b -> $\b; $f -> $\f; _ -> C end,
    jstr(R, [D | Acc]);
jstr(<<C/utf8, R/binary>>, Acc) -> jstr(R, [C | Acc]).

jnum(<<C, R/binary>>, Acc) when (C >= $0 andalso C =< $9) orelse C =:= $- orelse C =:= $+
                                orelse C =:= $. orelse C =:= $e orelse C =:= $E ->
    jnum(R, [C | Acc]);
jnum(R, Acc) ->
    S = lists:reverse(Acc),
    V = case lists:any(fun(C) -> lists:member(C, ".eE") end, S) of
            true -> list_to_float(S);
            false -> list_to_integer(S)
        end,
    {V, R}.

%% ---------------------------------------------------------------------------
%% arrival of the peer's bytes

%% Wait until the port's socket has received `Sent` bytes from the peer in
%% all. There is no event for it short of reading (which would change what
%% the port sees), so the kernel's count is polled, every millisecond, up to
%% the bound. A socket that is closed (or a kernel without the count) has
%% nothing to wait for: the bytes are dropped or reset there, which the
%% peer's next read shows.
await_arrival(St, Sent, Deadline) ->
    case port_bytes_received(St) of
        N when is_integer(N), N >= Sent -> ok;
        N when is_integer(N) ->
            case erlang:monotonic_time(millisecond) >= Deadline of
                true -> fail("peer_write: the port's socket received ~p of the peer's ~p bytes within ~p ms",
                             [N, Sent, ?BOUND]);
                false -> receive after 1 -> await_arrival(St, Sent, Deadline) end
            end;
        unknown -> ok
    end.

%% Poll the port's socket until it has the peer's FIN (it left ESTABLISHED)
%% or RST (it is in CLOSE), or is gone (an active port read the end and
%% exited).
await_end(St, How, Deadline) ->
    Arrived = case port_tcp_info(St) of
                  <<State:8, _/binary>> when How =:= fin -> State =/= ?TCP_ESTABLISHED;
                  <<State:8, _/binary>> -> State =:= ?TCP_CLOSE;
                  unknown -> true
              end,
    case Arrived of
        true -> ok;
        false ->
            case erlang:monotonic_time(millisecond) >= Deadline of
                true -> fail("peer_~p: the port's socket did not see it within ~p ms", [How, ?BOUND]);
                false -> receive after 1 -> await_end(St, How, Deadline) end
            end
    end.

%% An active port reads the end as it arrives and exits (PC-3); the exit
%% is a port task and a port signal, neither of which settle/1 waits for:
%% wait until the port is gone or passive (a passive port reads nothing
%% until asked). A RST also fails the write of a port with output queued
%% (PC-5), which drops its queue: wait until it has. The model never ends
%% the connection under a port active without read readiness
%% (DIFF-INET-5), which would wait here in vain.
%%
%% With {exit_on_close, false} an active port that reads the end stays,
%% active as it was (PC-7): what says it has read it is its
%% {tcp_closed,S}, sent once (a RST: also dropping its queue, as a passive
%% port's failed write does). It may have been sent before this op (an
%% owner's shutdown read_write, SD-4): `end_delivered`. The message is
%% taken with a selective receive and sent back to ourselves, behind the
%% messages already there: the port sends nothing after it, so the owner's
%% messages from S keep their order for `mailbox` (process_info(self(),
%% messages) cannot be used to look for it: on OTP 25 it leaves out port
%% messages not yet fetched into the queue, measured).
await_reaction(#st{s = S} = St, How, Deadline) ->
    {Done, St1} =
        case erlang:port_info(S, id) of
            undefined -> {true, St};
            _ -> case caught(fun() -> inet:getopts(S, [active]) end) of
                     {ok, [{active, false}]} when How =:= rst -> {queue_dropped(S), St};
                     {ok, [{active, false}]} -> {true, St};
                     {ok, [{active, _}]} when St#st.exit_on_close -> {false, St};
                     {ok, [{active, _}]} ->
                         St2 = take_end(St),
                         {St2#st.end_delivered andalso (How =:= fin orelse queue_dropped(S)), St2};
                     _ -> {true, St}
                 end
        end,
    case Done of
        true -> St1;
        false ->
            case erlang:monotonic_time(millisecond) >= Deadline of
                true -> fail("the port neither read the peer's end (active: exited, or with exit_on_close false "
                             "delivered tcp_closed~s) nor dropped its queue on the reset (passive) within ~p ms",
                             [case St1#st.end_delivered of true -> ", which it did"; false -> "" end, ?BOUND]);
                false -> erlang:yield(), await_reaction(St1, How, Deadline)
            end
    end.

queue_dropped(S) ->
    case erlang:port_info(S, queue_size) of
        {queue_size, N} when N > 0 -> false;
        _ -> true
    end.

%% exit_on_close false: S's {tcp_closed,S}, if it has come, put back
%% behind the messages already in the mailbox (see await_reaction/3).
take_end(#st{end_delivered = true} = St) -> St;
take_end(#st{s = S} = St) ->
    receive
        {tcp_closed, S} = M ->
            self() ! M,
            St#st{end_delivered = true}
    after 0 -> St
    end.

%% tcp_info's tcpi_bytes_received (Linux >= 4.1) of the port's socket: the
%% bytes it has received in order.
port_bytes_received(St) ->
    case port_tcp_info(St) of
        Info when is_binary(Info) -> bytes_received(Info);
        unknown -> unknown
    end.

%% struct tcp_info of the port's socket, or unknown.
port_tcp_info(#st{backend = inet, s = S}) ->
    try inet:getopts(S, [{raw, ?IPPROTO_TCP, ?TCP_INFO, ?TCP_INFO_LEN}]) of
        {ok, [{raw, _, _, Info}]} when is_binary(Info) -> Info;
        _ -> unknown
    catch _:_ -> unknown
    end;
port_tcp_info(#st{s = {'$inet', gen_tcp_socket, {_, Sock}}}) ->
    try socket:getopt_native(Sock, {?IPPROTO_TCP, ?TCP_INFO}, ?TCP_INFO_LEN) of
        {ok, Info} when is_binary(Info) -> Info;
        _ -> unknown
    catch _:_ -> unknown
    end;
port_tcp_info(_) ->
    unknown.

%% For an error message: what the kernel holds of the port's output (a
%% zero-window probe timer backing off shows as probes/backoff with
%% unsent bytes) and what the peer has waiting.
kernel_view(St) ->
    Port = case port_tcp_info(St) of
               <<State, _Ca, _Retr, Probes, Backoff, _:3/binary, _:16/binary, Unacked:32/native, _:116/binary,
                 NotSent:32/native, _:80/binary, SndWnd:32/native, _/binary>> ->
                   fmt("port socket: state ~p, unacked ~p segs, notsent ~p B, snd_wnd ~p, probes ~p, backoff ~p",
                       [State, Unacked, NotSent, SndWnd, Probes, Backoff]);
               _ -> "port socket: no tcp_info"
           end,
    Peer = case caught(fun() -> socket:recv(St#st.peer, 0, [peek], 0) end) of
               {ok, B} -> fmt("peer has ~p B waiting", [byte_size(B)]);
               Other -> fmt("peer peek: ~0p", [Other])
           end,
    [Port, "; ", Peer].

%% struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, 24 u32 counters,
%% pacing_rate, max_pacing_rate and bytes_acked (u64), then bytes_received.
bytes_received(<<_:128/binary, N:64/native-unsigned, _/binary>>) -> N;
bytes_received(_) -> unknown.

%% ---------------------------------------------------------------------------
%% between cases: teardown and the baseline (PROTOCOL.md §2.3)

%% The node as a case's teardown must leave it. Dummy ports are left out:
%% they belong to the node and the next setup trims or tops them up.
baseline(Dummies) ->
    {links, Links} = erlang:process_info(self(), links),
    {monitors, Mons} = erlang:process_info(self(), monitors),
    #base{ports = erlang:system_info(port_count) - length(Dummies),
          port_ids = erlang:ports() -- Dummies,
          sockets = socket:number_of(),
          procs = lists:sort(erlang:processes()),
          links = lists:sort(Links -- Dummies),
          monitors = lists:sort(Mons)}.

%% Take the case's world down, then check the node against the baseline
%% taken before its hello: {clean, Dummies} or {dirty, Why}. Never raises:
%% a teardown that fails is a dirty node.
reset(St) ->
    try teardown(St) of
        ok -> verify(St, all);
        {dirty, _} = Dirty -> Dirty
    catch
        throw:{sut_error, M} -> {dirty, M};
        C:E:Stk -> {dirty, fmt("teardown crashed: ~p:~p at ~p", [C, E, Stk])}
    end.

%% In this order, so that nothing of the case can still reach the main
%% process once the mailbox is drained:
%%  1. the case's processes (senders, the closer, a reader still waiting,
%%     the sentinel's blocked sender): unlinked (they are linked to us)
%%     and killed, and their 'DOWN' awaited, so every message they sent is
%%     in the mailbox;
%%  2. a system-message barrier while the sentinel is still busy: every
%%     busy_port event raised before it has arrived; then the busy_port
%%     monitor is switched off (the next setup switches it on);
%%  3. every port and socket the case opened, closed at once (port_close
%%     discards a driver queue instead of waiting for it to drain, as
%%     gen_tcp:close would; the socket backend's handles by gen_tcp:close,
%%     which stops their server process), and the ports awaited until gone
%%     (await_ports_closed/2);
%%  4. the processes OTP started for the case (the socket backend's
%%     servers) awaited;
%%  5. the mailbox drained (port messages, late results, 'DOWN's).
%% The case's own timers need no cancelling: the only ones the adapter
%% sets (timer_barrier) are always awaited, and the drivers' send timers
%% went with their ports.
teardown(St) ->
    {Sen, SenPeer, SenBlocker} = St#st.sentinel,
    Procs = tuple_to_list(St#st.senders) ++ [St#st.closer || is_pid(St#st.closer)]
        ++ [P || {waiting, P} <- [St#st.reader]] ++ [SenBlocker],
    lists:foreach(fun erlang:unlink/1, Procs),
    kill_and_await(Procs),
    sysmsg_barrier(St),
    erlang:system_monitor(undefined),
    Listener = case St#st.plant of leak_listener -> []; _ -> [St#st.lsock] end,
    Handles = [St#st.s, Sen, St#st.probe_in, St#st.sched_in] ++ Listener ++ St#st.extras ++ [A || {A, _} <- St#st.accepted],
    lists:foreach(fun close_handle/1, Handles),
    Sockets = [St#st.peer, St#st.probe_out, St#st.sched_out, SenPeer, St#st.xsock] ++ [C || {_, C} <- St#st.accepted],
    lists:foreach(fun(Sock) -> caught(fun() -> socket:close(Sock) end) end, Sockets),
    await_ports_closed([P || P <- Handles, is_port(P)], erlang:monotonic_time(millisecond) + ?GONE_BOUND),
    %% A port or socket left open is dirt already: no need to wait for
    %% processes that would end with it.
    case verify(St, counts) of
        {clean, _} ->
            Base = St#st.base,
            await_gone([P || P <- erlang:processes() -- Base#base.procs, erlang:is_process_alive(P)]),
            flush_mailbox();
        Dirty ->
            Dirty
    end.

close_handle(P) when is_port(P) -> caught(fun() -> erlang:port_close(P) end);
close_handle(S) -> caught(fun() -> gen_tcp:close(S) end).

%% erlang:port_close/1 can return before the port is gone: a port with a
%% task queued (an I/O event its fd's pollset already handed out) closes
%% when that task has run, and a closed port leaves the table's count a
%% little after it left erlang:ports() (both seen at reset under load, on
%% OTP 25 and 27, once the I/O barrier had a probe in the scheduler
%% pollset: ports 3, before the case 2, and no port left to name). Wait,
%% bounded, until the ports closed are gone and the count has caught up
%% with erlang:ports(); verify/2 then judges what is left (a port the case
%% leaked is counted at once: no wait for it).
await_ports_closed(Ps, Deadline) ->
    Open = [P || P <- Ps, erlang:port_info(P, id) =/= undefined],
    Lag = erlang:system_info(port_count) - length(erlang:ports()),
    case Open =:= [] andalso Lag =< 0 of
        true -> ok;
        false ->
            case erlang:monotonic_time(millisecond) >= Deadline of
                true -> ok;
                false -> receive after 1 -> await_ports_closed(Ps, Deadline) end
            end
    end.

%% Kill every process of Ps and wait for each to be gone.
kill_and_await(Ps) ->
    Refs = [{erlang:monitor(process, P), P} || P <- Ps],
    [exit(P, kill) || P <- Ps],
    await_down(Refs, erlang:monotonic_time(millisecond) + ?BOUND, kill).

%% Wait (bounded) for processes that end by themselves (their socket
%% closed): one that does not is left over, and the node is dirty.
await_gone(Ps) ->
    Refs = [{erlang:monitor(process, P), P} || P <- Ps],
    await_down(Refs, erlang:monotonic_time(millisecond) + ?GONE_BOUND, gone).

await_down([], _, _) -> ok;
await_down(Refs, Deadline, Why) ->
    receive
        {'DOWN', Ref, process, _, _} -> await_down(lists:keydelete(Ref, 1, Refs), Deadline, Why)
    after max(0, Deadline - erlang:monotonic_time(millisecond)) ->
        [erlang:demonitor(R, [flush]) || {R, _} <- Refs],
        fail("teardown: ~p process(es) of the case still alive after ~p: ~0p",
             [length(Refs), Why, [describe_proc(P) || {_, P} <- Refs]])
    end.

describe_proc(P) ->
    {P, caught(fun() -> erlang:process_info(P, [registered_name, initial_call, current_function, status]) end)}.

flush_mailbox() ->
    receive _ -> flush_mailbox() after 0 -> ok end.

%% The node against the baseline taken before the case's hello: only the
%% ports and sockets (`counts`), or everything (`all`). The next setup rebuilds the
%% table's free slots from the dummies (they must all still be open).
verify(#st{base = B, dummies = Ds}, Which) ->
    {links, Links} = erlang:process_info(self(), links),
    {monitors, Mons} = erlang:process_info(self(), monitors),
    {message_queue_len, Q} = erlang:process_info(self(), message_queue_len),
    Ports = erlang:system_info(port_count) - length(Ds),
    Sockets = socket:number_of(),
    Procs = lists:sort(erlang:processes()),
    Counts = [{"ports (not counting dummies)", B#base.ports, Ports},
              {"sockets", B#base.sockets, Sockets}],
    Rest = [{"dummy ports open", length(Ds), length([D || D <- Ds, erlang:port_info(D, id) =/= undefined])},
            {"messages in the mailbox", 0, Q},
            {"links", B#base.links, lists:sort(Links -- Ds)},
            {"monitors", B#base.monitors, lists:sort(Mons)},
            {"processes", B#base.procs, Procs}],
    Checks = case Which of all -> Counts ++ Rest; _ -> Counts end,
    case [{What, Want, Got} || {What, Want, Got} <- Checks, Want =/= Got] of
        [] -> {clean, Ds};
        Bad ->
            Left = [{P, caught(fun() -> erlang:port_info(P, name) end), caught(fun() -> erlang:port_info(P, connected) end)}
                    || P <- erlang:ports() -- (B#base.port_ids ++ Ds)],
            LeftNote = case Left of [] -> []; _ -> [fmt("ports left: ~0p", [Left])] end,
            {dirty, iolist_to_binary(lists:join("; ", [dirt(W, Want, Got) || {W, Want, Got} <- Bad] ++ LeftNote))}
    end.

dirt(What, Want, Got) when is_integer(Want) ->
    fmt("~s: ~p, before the case ~p", [What, Got, Want]);
dirt(What, Want, Got) ->
    fmt("~s: ~0p more, ~0p fewer than before the case", [What, Got -- Want, Want -- Got]).

%% peer_write: the kernel took every byte; the step ends once they have
%% arrived on the port's side (PROTOCOL.md, peer_write).
peer_wrote(St, Len) ->
    Sent = St#st.peer_sent + Len,
    await_arrival(St, Sent, erlang:monotonic_time(millisecond) + ?BOUND),
    {none, [], settle(St#st{peer_sent = Sent})}.
