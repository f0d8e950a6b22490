//! Port rules, OTP 25.2.3 semantics (`erts/emulator/drivers/common/inet_drv.c`,
//! `erts/emulator/beam/erl_port_task.c`, `io.c`, `lib/kernel/src/prim_inet.erl`).
//! Seed: yufeng, "gen_tcp发送缓冲区以及水位线问题分析" (2013), and
//! "gen_tcp接受链接时enfile的问题分析及解决" (2011).

use super::RuleId;

catalogue! {
    Port, PORT;
    // --- driver send queue and watermarks -------------------------------------------------
    WM_1 = "WM-1": "Defaults: high_watermark 8192, low_watermark 4096 bytes.",
         "inet_drv.c INET_HIGH_WATERMARK/INET_LOW_WATERMARK; seed 2013 article";
    WM_2 = "WM-2": "Send onto an empty driver queue writes directly; any unsent remainder is queued with no watermark check and the reply is ok.",
         "inet_drv.c tcp_sendv (queue empty branch, sock_sendv then driver_enqv)";
    WM_3 = "WM-3": "Send onto a non-empty queue enqueues the whole message; the port goes busy and the reply is deferred iff queued_before + size >= high_watermark.",
         "inet_drv.c tcp_sendv: `if (sz+ev->size >= desc->high)` set_busy_port(port,1)";
    WM_4 = "WM-4": "After each write from the queue that took bytes (not EAGAIN), a busy port whose remaining queue is <= low_watermark clears busy, replies ok to the blocked caller and resumes suspended senders.",
         "inet_drv.c tcp_inet_output: `if (driver_deq(ix, n) <= desc->low)`";
    WM_5 = "WM-5": "A zero-length send onto an empty driver queue returns ok and changes nothing; onto a non-empty queue it goes through WM-3 like any send (a queue at or above high_watermark makes the port busy and the caller waits, or times out).",
         "inet_drv.c tcp_sendv (the queue check comes before any write); measured on OTP 25.2.3: empty queue -> ok; queue 93088 >= 8192 -> the zero-byte sender waits, with send_timeout 0 or 50 -> {error,timeout}";
    WM_6 = "WM-6": "The driver keeps one blocked-caller slot: a later send that crosses high_watermark (forced, or a queued task) takes it, and the caller it displaced never gets a reply.",
         "inet_drv.c tcp_sendv `desc->inet.busy_caller = desc->inet.caller`";
    // --- delay_send -------------------------------------------------------------------------
    DS_1 = "DS-1": "With delay_send, a send onto an empty queue enqueues everything with no syscall and no watermark check, arms a zero-delay flush and replies ok.",
         "inet_drv.c tcp_sendv delay_send branch (driver_set_timer 0)";
    DS_2 = "DS-2": "The delay_send flush runs at the next quiescence and writes the whole queue in one coalesced write.",
         "inet_drv.c tcp_inet_timeout -> tcp_inet_output (one writev of the queue)";
    // --- send_timeout -----------------------------------------------------------------------
    TO_1 = "TO-1": "When send_timeout expires on a busy port, busy is cleared, the blocked caller gets {error,timeout}, suspended senders resume, and the queued data stays queued and is delivered.",
         "inet_drv.c tcp_inet_send_timeout; OTP gen_tcp_misc_SUITE otp_7816";
    TO_2 = "TO-2": "With send_timeout 0 a send that would make the port busy replies {error,timeout} at once; the port does not go busy and the data stays queued.",
         "inet_drv.c tcp_sendv send_timeout == 0 branch; reproduced on OTP 25.2.3";
    TO_3 = "TO-3": "With send_timeout_close the timeout also closes the socket and discards queued output; later sends and recvs reply {error,enotconn}. What the kernel had taken before the close still reaches the peer: on a real clock, for a system that does not report its writes, that includes a write from the queue just before the timer fired, seen only in the peer's reads (at most the discarded queue).",
         "inet_drv.c tcp_inet_send_timeout (send_timeout_close), tcp_inet_commandv !IS_CONNECTED";
    TO_4 = "TO-4": "Leaving busy through the low watermark cancels the send timer.",
         "inet_drv.c tcp_inet_output: driver_cancel_timer when busy_on_send";
    // --- port-task (msgq) queue ---------------------------------------------------------------
    MQ_1 = "MQ-1": "A send executes immediately only when the port is not busy, has no queued tasks and its lock is free; otherwise it is scheduled as a port task.",
         "OTP 25 erts/emulator/beam/io.c erts_port_output, try_imm_drv_call (erts_port_trylock)";
    MQ_2 = "MQ-2": "Port parallelism does not force erlang:port_command sends (the gen_tcp path) to be scheduled.",
         "io.c erts_port_output: only async sends without a reference are forced to schedule on a parallel port";
    MQ_3 = "MQ-3": "Scheduled output tasks count their bytes in the msgq size; the port goes msgq-busy when that size is > high_msgq_watermark (strict).",
         "erl_port_task.c enqueue_proc_sig / erts_port_task_schedule: `if (qsz > high)` set ERTS_PTS_FLG_BUSY_PORT_Q";
    MQ_4 = "MQ-4": "After a task is executed or aborted, a msgq size < low_msgq_watermark (strict) clears msgq-busy; suspended senders resume only if the driver queue is not busy too.",
         "erl_port_task.c check_unset_busy_port_q / erts_port_resume_procs";
    MQ_5 = "MQ-5": "A scheduled send waits while the driver queue is busy and runs, in order, once it is not.",
         "erl_port_task.c ERTS_PT_FLG_WAIT_BUSY, busy_wait_move_to_busy_queue";
    MQ_6 = "MQ-6": "A scheduled nosuspend send finding the port busy when it runs is aborted and replies false.",
         "erl_port_task.c ERTS_PT_FLG_NOSUSPEND, abort_nosuspend_task";
    MQ_7 = "MQ-7": "Defaults: high_msgq_watermark 8192, low_msgq_watermark 4096 bytes.",
         "erl_port_task.c ERTS_PORT_TASK_DEFAULT_BUSY_PORT_Q_HIGH/LOW";
    // --- senders ------------------------------------------------------------------------------
    SND_1 = "SND-1": "A plain send to a busy port (driver- or msgq-busy) suspends the sender and raises a busy_port monitor event; the send is retried on resume.",
         "io.c erts_port_output ERTS_PORT_OP_BUSY -> erts_suspend; busy_port_SUITE system_monitor";
    SND_2 = "SND-2": "A nosuspend send to a busy port returns false and queues nothing.",
         "io.c erts_port_output ERTS_PORT_SIG_FLG_NOSUSPEND; erlang:port_command/3 docs";
    SND_3 = "SND-3": "A force send to a busy soft-busy port (tcp_inet) goes through.",
         "io.c erts_port_output ERTS_PORT_SIG_FLG_FORCE, ERL_DRV_FLAG_SOFT_BUSY";
    SND_4 = "SND-4": "Leaving busy resumes every suspended sender; each retries its send, in the order it was suspended.",
         "io.c erts_port_resume_procs";
    SND_5 = "SND-5": "The sender whose send made the port busy waits for its reply; it is not suspended and raises no busy_port event.",
         "inet_drv.c busy_caller + prim_inet:send receive of inet_reply; seed 2013 article";
    SND_6 = "SND-6": "A send on a closed port replies {error,closed}.",
         "prim_inet:send (badarg from erlang:port_command -> {error,closed})";
    // --- options ------------------------------------------------------------------------------
    OPT_1 = "OPT-1": "Setting high_watermark v: v<0 becomes 0; if low > v then low = v; high = v.",
         "inet_drv.c inet_set_opts INET_LOPT_TCP_HIWTRMRK";
    OPT_2 = "OPT-2": "Setting low_watermark v: v<0 becomes 0; if high < v then high = v; low = v.",
         "inet_drv.c inet_set_opts INET_LOPT_TCP_LOWTRMRK";
    OPT_3 = "OPT-3": "A msgq watermark of 0 or -1 makes setopts return einval, keeping the options applied before it (the list is applied back to front, OPT-5, and stops at the invalid one); any other negative one passes the driver's range check (the int is compared as an unsigned ErlDrvSizeT, where only -1 exceeds the maximum) and means no limit, read back as 2147483647.",
         "inet_drv.c inet_set_opts INET_LOPT_TCP_MSGQ_HIWTRMRK/LOWTRMRK (ival < ERL_DRV_BUSY_MSGQ_LIM_MIN, unsigned comparison); measured on OTP 25.2.3: 0 and -1 -> einval; -2, -3, -100, -2^31 -> ok, getopts 2147483647; [{low_msgq_watermark,-1},{high_watermark,-1}] -> einval with high 0 applied";
    OPT_4 = "OPT-4": "Setting low_msgq v: if high_msgq < v then high_msgq = v; setting high_msgq v: if low_msgq > v then low_msgq = v.",
         "erl_port_task.c erl_drv_busy_msgq_limits";
    OPT_5 = "OPT-5": "Within one setopts the list is applied back to front, so the first listed option wins a conflict.",
         "prim_inet.erl encode_opt_val (reverses the list); reproduced on OTP 25.2.3";
    OPT_6 = "OPT-6": "An accepted socket inherits the listener's watermarks, msgq limits, send_timeout, send_timeout_close, delay_send and active mode.",
         "inet_drv.c tcp_inet_copy; prim_inet:accept_opts";
    OPT_7 = "OPT-7": "Defaults: delay_send false, send_timeout infinity, send_timeout_close false.",
         "inet_drv.c inet_start / tcp_inet_start";
    // --- receive modes ------------------------------------------------------------------------
    RX_1 = "RX-1": "recv on a socket in active mode (true, once or N) returns {error,einval}.",
         "inet_drv.c tcp_inet_ctl TCP_REQ_RECV: `if (desc->inet.active) return ctl_error(EINVAL)`";
    RX_2 = "RX-2": "{active,once} delivers one message and goes passive without a tcp_passive message.",
         "inet_drv.c tcp_deliver / INET_ONCE";
    RX_3 = "RX-3": "{active,N} adds N to the current count; a sum outside [-32768,32767] is einval (the options applied before it stay, as OPT-3); an N that is itself outside int16 is einval with nothing applied.",
         "inet_drv.c inet_set_opts INET_LOPT_ACTIVE INET_MULTI; prim_inet encoder (int16); measured on OTP 25.2.3: [{active,{n,40000}},{high_watermark,0}] -> einval, high unchanged";
    RX_4 = "RX-4": "When the {active,N} count reaches <= 0 the socket goes passive and a tcp_passive message is sent.",
         "inet_drv.c tcp_deliver / inet_set_opts: INET_MULTI count <= 0";
    RX_5 = "RX-5": "{active,true} delivers every received byte as tcp messages, in order.",
         "inet_drv.c tcp_deliver";
    RX_6 = "RX-6": "A passive recv returns the next received bytes in order, or {error,timeout} when none are available.",
         "inet_drv.c tcp_inet_ctl TCP_REQ_RECV, tcp_recv";
    // --- port table ---------------------------------------------------------------------------
    PT_1 = "PT-1": "Port table size: requested value (default 65536, raised to RLIMIT_NOFILE when larger) clamped to [1024, 2^27-1] and rounded up to a power of two.",
         "OTP 25 erts/emulator/beam/erl_port.c / erl_ptab.c erts_ptab_init_table; ERL_MAX_PORTS; reproduced on OTP 25.2.3";
    PT_2 = "PT-2": "accept into a full port table returns {error,system_limit} and closes the accepted fd, so the peer sees EOF.",
         "inet_drv.c tcp_inet_multi_accept / tcp_inet_accept (driver_create_port failure -> sock_close); seed 2011 enfile article";
    PT_3 = "PT-3": "Opening a port (connect or listen) with a full table returns {error,system_limit}.",
         "io.c erts_open_driver -> erts_ptab_new_element failure; reproduced on OTP 25.2.3";
    PT_4 = "PT-4": "Closing a port frees its table slot.",
         "erl_ptab.c erts_ptab_delete_element";
    // --- stream integrity ---------------------------------------------------------------------
    ST_1 = "ST-1": "The peer receives exactly the concatenation of the queued sends, in order, with nothing lost or duplicated.",
         "TCP stream semantics; inet_drv.c driver queue is FIFO (driver_enqv/driver_deq)";
    ST_2 = "ST-2": "A write from the queue asks for the whole queue (coalesced) and the kernel cannot take more than was asked.",
         "inet_drv.c tcp_inet_output (driver_peekq + sock_sendv of the whole queue)";
    // --- close ----------------------------------------------------------------------------------
    CL_1 = "CL-1": "With linger off (the default; no case sets linger), closing a port with queued output keeps flushing it (empty_out_q), then closes the socket: the peer gets every byte, then EOF. ({linger,{true,0}} would abort at once with a reset, {true,T} bound the wait: not generated.)",
         "inet_drv.c tcp_inet_stop / INET_F_DELAYED_CLOSE; prim_inet:close waits for empty_out_q (and for linger: prim_inet:close/1); OTP close_with_pending_output; gen_tcp_misc_SUITE:linger_zero, linger_zero_sndbuf";
    CL_2 = "CL-2": "A closed port leaves the port table at once, even while it still flushes queued output.",
         "erl_port.c / io.c: port_close unlinks the port from the table before the driver's delayed close completes";
    CL_3 = "CL-3": "A socket closed (by close or send_timeout_close) with unread input sends RST instead of FIN: the peer's next read fails once with ECONNRESET, later reads see EOF, and bytes it had not read may be lost.",
         "Linux net/ipv4/tcp.c __tcp_close (data_was_unread -> tcp_send_active_reset); KN-RST-1; seed 2011 article on RST instead of FIN";
    // --- the peer ends the connection ------------------------------------------------------
    PC_1 = "PC-1": "The peer's FIN (or its RST, without show_econnreset) reaches a passive port when a recv has read every byte before it: that recv returns {error,closed}, once; the driver closes the socket then (a FIN to the peer) and the port keeps its table slot, its options and its queue size (0).",
         "inet_drv.c tcp_recv_closed (passive: inet_close, `passive mode do not terminate port`, inet_report closed); gen_tcp_misc_SUITE:passive_sockets, gen_tcp_api_SUITE:t_recv_eof; measured on OTP 25.2.3, 27 and 29 (inet): recv {ok,Data}, {error,closed}; getopts ok, queue_size 0";
    PC_2 = "PC-2": "After PC-1 the socket is not connected: recv returns {error,enotconn}; an active setopts returns ok, delivers {tcp_closed,S} (only that) and the port exits (PC-3's exit).",
         "inet_drv.c TCP_REQ_RECV (`if (!IS_CONNECTED(desc))` -> ENOTCONN), tcp_inet_ctl setopts on a closed socket -> driver_exit; measured on OTP 25.2.3, 27 and 29 (inet): third recv {error,enotconn}; setopts {active,true} ok, then [{tcp_closed,S}], recv {error,closed}";
    PC_3 = "PC-3": "An active port (true, once or N, while the mode lasts) delivers the bytes before the peer's FIN or RST as {tcp,S,Data} messages, then {tcp_closed,S} once, and exits (exit_on_close, the default): it leaves the table, recv returns {error,closed}, setopts and getopts {error,einval}. A once or N port that went passive first delivers the end when it is made active again.",
         "inet_drv.c tcp_recv_closed (active: driver_failure_eof); gen_tcp_misc_SUITE:active_once_closed, data_before_close, active_n_closed; measured on OTP 25.2.3, 27 and 29 (inet)";
    RS_1 = "RS-1": "With show_econnreset the peer's RST is reported as a reset: a passive recv returns {error,econnreset} instead of {error,closed} (PC-1), an active port delivers {tcp_error,S,econnreset} before {tcp_closed,S} (PC-3). Without the option, and for a FIN, it is reported as closed. Bytes that arrived before the RST are still delivered first.",
         "inet_drv.c tcp_recv_error (ECONNRESET with show_econnreset -> econnreset, else closed); gen_tcp_misc_SUITE:show_econnreset_active, show_econnreset_active_once, show_econnreset_passive; measured on OTP 25.2.3, 27 and 29 (inet)";
    // --- scheduler ---------------------------------------------------------------------------
    SCHED_1 = "SCHED-1": "At quiescence nothing runnable is left: due flushes, runnable port tasks, resumed senders and available input have all been processed.",
         "erl_port_task.c / erl_process.c schedulers run every runnable task";
    // --- declared differences (reference::variant): OTP 25 gen_tcp, inet backend -----------------
    DIFF_INET_1 = "DIFF-INET-1": "Variant otp-inet of SND-4: when the port leaves busy, the suspended senders retry in suspension order except the first-suspended one, which retries last (suspended 7,8,9,10 retry 8,9,10,7).",
         "measured on OTP 25.2.3 through the BEAM adapter (suite/tests/beam_adapter/); erl_process.c resume of the port's suspended list";
    DIFF_INET_2 = "DIFF-INET-2": "Variant otp-inet of WM-4/SND-5: the blocked caller's {inet_reply,ok} is seen after the resumed senders' retries have completed, not before.",
         "measured on OTP 25.2.3 through the BEAM adapter; inet_drv.c tcp_inet_output clears busy (resuming senders) before inet_reply to the caller is handled by it";
    DIFF_INET_3 = "DIFF-INET-3": "Variant otp-inet of CL-1/CL-2: gen_tcp:close with queued output first waits for the queue to empty (while the peer makes progress); until then the port stays open and in the table, its queue is visible, and sends from other processes are queued and delivered; then it closes as CL-1. The closer closes once the queue has emptied, even if output was queued again since (it acts on the driver's empty_out_q notice); a port closed with output still queued stays in the table and reports its queue until the driver has flushed it; a caller blocked on it gets {error,closed} at the close on OTP 27 and newer (DIFF-INET-8), and on OTP 25 not at the close: once its INET_CLOSE_TIMEOUT (5 s from when its wait began; a real-clock timer, so at any later step) has run out, its port monitor finds the port closed and it returns {error,closed}, while the port may still be flushing (suite/regressions/beam-inet-1002-otp25.json).",
         "lib/kernel/src/prim_inet.erl close/1 -> close_pend_loop (subscribe empty_out_q, INET_CLOSE_TIMEOUT while send_pend shrinks; on {empty_out_q,S} it port_closes without looking at the queue again); prim_inet:send_recv_reply/2 (OTP 25: the 5 s port-monitor fallback, gen_tcp_misc_SUITE:otp_12242); measured on OTP 25.2.3 (suite/regressions/beam-inet-64.json, beam-inet-12019824718287016444.json)";
    DIFF_INET_4 = "DIFF-INET-4": "Variant otp-inet of WM-6/TO-1/TO-4: every send that takes the busy branch (a force send onto a busy port too) arms a send timer of its own and becomes the busy caller; leaving busy at the low watermark cancels only the earliest timer. A timer left armed fires later, busy or not: it clears busy and sends {error,timeout} to the last busy caller, into its mailbox when it is not waiting. Up to OTP 25 a sender's send returns the oldest reply waiting in its mailbox: after a stale timeout it returns {error,timeout} at once (even on an empty queue) and its own reply is left for its next send; from OTP 26 a send takes only the reply carrying its own monitor reference, so a stale reply stays in the mailbox unread. On the real clock only the blocked caller's own timer must have fired once the clock passed its deadline (its caller waits for the reply); a leftover timer has no such bound (a driver timer on a starved node fires late) and may fire at any later step.",
         "erts/emulator/drivers/common/inet_drv.c (OTP 25.2.3) tcp_sendv busy branch: busy_caller = caller, add_multi_timer (a new timer, not a replacement); tcp_inet_output at low: cancel_multi_timer removes the first matching timer; tcp_inet_send_timeout: caller = busy_caller, inet_reply_error_am(timeout) with no busy check; erts_port_output ignores busy for force (io.c); prim_inet.erl send/3 receives any {inet_reply,S,_} up to OTP 25, only {inet_reply,S,Status,Mref} with its own Mref from OTP 26 (OTP-18520; on OTP 27: portcheck run --sut beam --seed 1001, case 20, a send after a stale timeout returned its own {error,enotconn}); measured on OTP 25.2.3 (suite/regressions/unexplained/beam-inet-43.json: a 29-byte send onto an empty queue returned {error,timeout}; suite/regressions/beam-inet-42.json under two busy loops: a leftover timer passed by advance_time had not fired when the next send suspended)";
    DIFF_INET_5 = "DIFF-INET-5": "Variant otp-inet of OPT-3/RX-5: a setopts rejected with einval keeps the options applied before the invalid one, but the driver returns before it updates the socket's read readiness: a passive socket made active by it reads nothing (input stays in the kernel, so a close resets the peer) until a later setopts changes the active mode.",
         "erts/emulator/drivers/common/inet_drv.c (OTP 25.2.3) inet_set_opts: `return -1` inside the option loop skips the tail that calls sock_select(FD_READ, active) and triggers the first read when old_active differs; measured on OTP 25.2.3 (suite/regressions/beam-inet-8.json: [{low_msgq_watermark,0},{active,true}] -> einval, then 1 byte from the peer stays unread and close sends RST)";
    DIFF_INET_6 = "DIFF-INET-6": "Variant otp-inet on OTP 27 and newer, of WM-4/SND-5 (DIFF-INET-2 on OTP 25): when busy clears, the blocked caller's {inet_reply,ok} and the resumed senders' retries complete in either order; measured, the caller's ok mostly comes first. A resumed retry acts on the port when it runs, but a reply the driver sends it is seen when its process takes it, so a sender resumed later can be seen first (one that found the port closed in between: {error,closed} from port_command is its own).",
         "OTP 27.3.4.1 and 29.1.2 erts/emulator/drivers/common/inet_drv.c tcp_inet_output: set_busy_port(port,0) then inet_reply_ok to inet.caller (the busy_caller slot of 25 is gone); the order in which the woken caller and the resumed senders run is the scheduler's (erts >= 14, not documented); measured with ../shared/notes/otp-probes/busy.erl: OTP 25 [{1,ok},{2,ok},{0,ok}] 3 of 3, OTP 27 and 29 [{0,ok},{1,ok},{2,ok}] 3 of 3; replays on OTP 29 gave the OTP 25 order once in 5; the resumed retries: portcheck run --sut beam --seed 1002 on OTP 27 and 29, case 384 (suite/regressions/beam-inet-1002-otp27.json, -otp29.json: S0 ok, S3 {error,closed}, S1 ok, S2 ok after a pending close went through between S2's retry and S3's)";
    DIFF_INET_7 = "DIFF-INET-7": "Variant otp-inet of TO-3/RX-2: once send_timeout_close closed the socket, a setopts whose active option leaves the port active ({active,true}, once, or N with a count above 0; even a mode it already had) sends the owner {tcp_closed,S} and, with exit_on_close (the default), exits the port: the reply is ok, the port leaves the table, options after that one are not applied, and later sends return {error,closed}.",
         "erts/emulator/drivers/common/inet_drv.c inet_set_opts, case INET_LOPT_ACTIVE: `if (stype == SOCK_STREAM && active != INET_PASSIVE && state == INET_STATE_CLOSED) { tcp_closed_message(desc); if (desc->exitf) { driver_exit(desc->port, 0); return 0; } }` (OTP 25.2.3); found by a swarm case on OTP 25 (exec-adapter inet, seed 17, case 6: 1 port in the table after [{active,{n,1}}]), replayed on OTP 25.2.3, 27.3.4.1 and 29.1.2: suite/regressions/beam-inet-17.json";
    DIFF_INET_8 = "DIFF-INET-8": "Variant otp-inet on OTP 27 and newer, of WM-6/DIFF-INET-3: once the port is closed (its close went through, also with output still queued that the driver goes on flushing: DIFF-INET-3; or it exited: DIFF-INET-7), every send still waiting for its reply returns {error,closed} at once, the caller displaced from the blocked-caller slot (WM-6) and the blocked caller of a closed port included; a reply the driver had sent before is taken first. On OTP 25 such a send waits until its INET_CLOSE_TIMEOUT (5 s from when its wait began) has run out before it looks at the port (DIFF-INET-3).",
         "lib/kernel/src/prim_inet.erl send/3 since OTP 26.0 (OTP-18520): the caller monitors the port before port_command and waits for {inet_reply,S,Status,Mref} or the monitor's 'DOWN' -> {error,closed}; up to OTP 25 send_recv_reply/2 waits ?INET_CLOSE_TIMEOUT for {inet_reply,S,Status} before it monitors the port; measured on OTP 27.3.4.1 and 29.1.2: suite/regressions/beam-inet-2-otp27.json (S1 displaced by S0's force send on a closing port: S0 ok when the queue empties, S1 {error,closed} when the close goes through; unexplained until 2026-12-04), and a swarm case (seed 101, case 34 on OTP 27: the displaced S1 got {error,closed} when [{active,once}] exited the port after send_timeout_close); portcheck run --sut beam --seed 1002, case 969 on OTP 27 and 29: S0, blocked on a port whose pending close went through with 4921 bytes queued, got {error,closed} in that step and its 21 bytes still reached the peer";
    DIFF_INET_9 = "DIFF-INET-9": "Variant otp-inet on OTP 27 and newer, of WM-6: the driver answers only the latest send that reached it, so a send that reaches a busy port and is answered at once (a force send that does not cross high_watermark) takes the blocked caller's reply away: when busy clears (or its timer fires) that reply goes to the send already answered and is dropped, and the blocked caller waits on until the port goes (DIFF-INET-8). On OTP 25 the busy caller keeps its own slot.",
         "OTP 27.3.4.1 erts/emulator/drivers/common/inet_drv.c: every tcp_inet_commandv sets desc->inet.caller and its caller reference (init_caller_iov), tcp_inet_output replies inet_reply_ok to inet.caller; 25.2.3's separate busy_caller slot is gone (../shared/notes/otp-versions.md, finding 3); lib/kernel/src/prim_inet.erl send/3 (OTP 26+) receives only {inet_reply,S,Status,Mref} with its own Mref; measured on OTP 29.1.2 and 27.3.4.1: portcheck run --sut beam --seed 101 (swarm), case 44 (S3 blocked by a nosuspend send, S2's 29-byte force send answered ok; when busy cleared S0, S2 and S1 retried ok and S3 stayed waiting); its 46-op trace is not a committed regression, since under two busy loops it also failed on a kernel timing; reference/tests/model/inet_port_monitor.rs";
    // --- declared differences: OTP 25 gen_tcp with {inet_backend, socket} ----------------------
    DIFF_SOCK_1 = "DIFF-SOCK-1": "Variant otp-socket of WM-2..WM-6, SND-1..SND-5, MQ-*: there is no driver queue, busy port or suspension. gen_tcp:send writes from the calling process and returns ok once the kernel took every byte; otherwise the caller waits (status waiting) until it has. A send while another is pending (a zero-byte one too) waits behind it, in call order, and starts writing when it is done. queue_size is 0 and no busy_port event is raised.",
         "lib/kernel/src/gen_tcp_socket.erl send/2 -> socket:send(Socket, Data, [], SendTimeout); prim_socket_nif.c send_check_writer (writers queue); measured on OTP 25.2.3 (suite/tests/beam_adapter/: queue 0, later senders waiting, 30000 bytes onto an empty socket -> the caller waits; a zero-byte send behind a pending one waits, onto an idle socket returns ok)";
    DIFF_SOCK_2 = "DIFF-SOCK-2": "Variant otp-socket of OPT-1..OPT-5, DS-1/DS-2: high_watermark and high/low_msgq_watermark are accepted with any value (0 and -1 included) and ignored (low_watermark: DIFF-SOCK-8); delay_send is accepted and ignored (a send writes at once). A setopts list is applied front to back (the last listed option wins a conflict), and an invalid option (RX-3) replies einval with the options before it applied.",
         "gen_tcp_socket.erl ignore_optname/1 (watermarks), server_write_opts `delay_send => false %% XXX not implemented yet`, call_setopts (in list order); measured on OTP 25.2.3: {high_msgq_watermark,0} -> ok; [{send_timeout,300},{send_timeout,infinity}] -> infinity; [{send_timeout,20},{active,40000}] -> einval with send_timeout 20";
    DIFF_SOCK_3 = "DIFF-SOCK-3": "Variant otp-socket of TO-1/TO-2: send_timeout applies to each send on its own, counted from its call, also while it waits behind another send; on the real clock it may fire at any moment after it is armed, between two ops too (its caller's timer, not the op's). When it expires the send returns {error,{timeout,Rest}} (reported as {error,timeout}) and the unsent rest is dropped: the peer gets only what the kernel had taken, and the next pending send starts. With send_timeout 0 a send that the kernel does not take whole at once times out at once.",
         "gen_tcp_socket.erl send_result/4, send_timeout/3 (`Leave the lingering data to the caller`); socket.erl send with a timeout; measured on OTP 25.2.3: head send of 100000 with 200 ms -> {error,{timeout,89632}}; a 3-byte send queued behind it with 0 and 50 ms -> {error,{timeout,3}} while the head still waits; a 100000-byte send with send_timeout 0 -> {error,{timeout,93088}}";
    DIFF_SOCK_4 = "DIFF-SOCK-4": "Variant otp-socket of TO-3: with send_timeout_close (as it was when the send was called: a later setopts does not change it for a pending send) the expiring send (a send_timeout 0 send that could not finish at once too) has the socket's server close the socket and returns {error,timeout} once it has, possibly steps later; until the server has, other pending sends whose own timers fire return {error,timeout} too; every other pending send returns {error,closed}; later sends, recvs and setopts return {error,closed} (not enotconn).",
         "gen_tcp_socket.erl send/2 (socket:getopt {otp,meta} read once by the caller), send_timeout/3 (close_server, `We have to waste the lingering data`), handle_closed/4; measured on OTP 25.2.3: head {error,timeout}, queued send {error,closed}, later send/recv/setopts {error,closed}; a send called with send_timeout_close true closed the socket on its timeout after a setopts to false (differential, suite/regressions/beam-socket-31.json); an 8191-byte send with send_timeout 0 leaves its caller waiting (suite/regressions/beam-socket-9657213360833449307.json)";
    DIFF_SOCK_5 = "DIFF-SOCK-5": "Variant otp-socket of CL-1/DIFF-INET-3: gen_tcp:close closes the socket at once; pending sends return {error,closed} and their unsent rest is lost; the peer gets what the kernel had taken, then EOF (or RST with unread input, CL-3). Later sends return {error,closed}. The fd is closed when close returns, but bytes of a timed-out or aborted send the kernel still holds behind the peer's closed receive window arrive only with the window probe (a read of a small receive buffer does not reopen the window), so a peer read right after close may find nothing, and EOF comes after them.",
         "gen_tcp_socket.erl close/1 -> close_server -> handle_close (socket_close); measured on OTP 25.2.3: a 100000-byte send and two sends behind it all return {error,closed} on close; the 40000-byte case of beam_adapter/ close_with_queued_output delivers a prefix, then EOF; measured on Linux 6.18 (peer rcvbuf 2304, sndbuf 4608): 1153 bytes sent, an 8192-byte send with send_timeout 0 -> {error,{timeout,_}} after the kernel took 6912, the peer reads 1153, gen_tcp:close returns, the peer's read finds nothing while ss shows the socket in FIN-WAIT-1 with Send-Q 6913 and timer:(persist); the next byte arrives ~200 ms later (net/ipv4/tcp.c __tcp_cleanup_rbuf: no window update unless __tcp_select_window grows it; tcp_output.c tcp_probe_timer; suite/regressions/beam-socket-16803180870457928098.json)";
    DIFF_SOCK_6 = "DIFF-SOCK-6": "Variant otp-socket of PT-2..PT-4, CL-2: the socket (and its listener) is not a port: closing it leaves the port count unchanged, and connecting another socket never fails with system_limit nor takes a table slot.",
         "gen_tcp_socket.erl (a gen_statem and a socket NIF resource, no erlang:open_port); measured on OTP 25.2.3 through the BEAM adapter (ports 2 before and after close)";
    DIFF_SOCK_7 = "DIFF-SOCK-7": "Variant otp-socket of RX-6 (not generated): gen_tcp:recv(S, 0, 0) on a socket switched from active to passive while a read was pending is postponed until data arrives: the 0 ms timeout does not apply.",
         "gen_tcp_socket.erl handle_event {recv,_,_} in state #recv{} with active false: `Receive in progress` -> postpone; measured on OTP 25.2.3 ({active,32767} then {active,false}, recv(S,0,0) did not return); excluded by harness/src/sut/beam.rs abilities()";
    DIFF_SOCK_8 = "DIFF-SOCK-8": "Variant otp-socket of OPT-2 and RX-5: low_watermark sets the socket's SO_RCVLOWAT (a negative value: the kernel's cap; 0: 1). An active socket delivers input only once at least that many bytes are in its receive queue (but a socket turning active from passive reads whatever is waiting at once: its first recv is nonblocking); until then nothing is read, so a close with them unread resets the peer (CL-3). Set before or after {active,_}, in the same setopts or another.",
         "OTP 25 lib/kernel/src/gen_tcp_socket.erl socket_opt/0: `low_watermark => {socket, rcvlowat}` (commented out in later releases); Linux net/core/sock.c SO_RCVLOWAT, net/ipv4/tcp.c tcp_set_rcvlowat, tcp_poll (tcp_stream_is_readable with sk_rcvlowat); measured on OTP 25.2.3: {low_watermark,221} then 220 bytes from the peer -> no tcp message, 221 -> one of 221; {low_watermark,113}, 1 byte from the peer, then {active,true} -> one message of 1 byte (suite/regressions/beam-socket-42.json); getopt rcvlowat 221; -1 -> 16777216; 0 -> 1";
    DIFF_SOCK_9 = "DIFF-SOCK-9": "Variant otp-socket of RX-3: {active,false} set while the socket is in {active,N} mode (a count left) sends the owner {tcp_passive,S}, as the count running out does; the inet driver sends nothing then. From once or true to false: no message.",
         "OTP 25 lib/kernel/src/gen_tcp_socket.erl state_setopts_active/5: `Active =:= false -> case D of #{active := OldActive} when is_integer(OldActive) -> P#params.owner ! {tcp_passive, ...}`; measured on OTP 25.2.3: [{active,{n,1}},{active,false}] in one setopts, then the mailbox holds tcp_passive (portcheck run --sut beam-socket --seed 7, case 58, suite/regressions/beam-socket-7.json)";
    DIFF_SOCK_10 = "DIFF-SOCK-10": "Variant otp-socket of DIFF-SOCK-4: after send_timeout_close closed the socket, its server, in state closed, still answers setopts until it exits on its own schedule: a list of only ignored options (the watermarks) returns ok (on OTP 25 the server then crashes: harness/beam/known-defects.json) and any other option {error,einval}. Once it has exited, setopts returns {error,closed} on OTP 25 (DIFF-SOCK-4) and {error,einval} on OTP 27 and newer. Sends return {error,closed} throughout.",
         "lib/kernel/src/gen_tcp_socket.erl, 25.2.3 state_setopts/4 and 27.3.4.1 call_setopts/4 in state 'closed' (server read/write options -> einval, ignored ones skipped -> ok); call/2 on a server that exited: {error,closed} in 25.2.3 (line 1142), {error,einval} in 27.3.4.1 (line 1423); handle_event(internal, exit, 'closed') -> stop; measured: OTP 25.2.3 under two busy loops, [{low_msgq_watermark,38},{send_timeout,infinity}] right after the close -> einval (portcheck run --sut beam-socket --seed 16494547143876590277, case 247), else closed; OTP 27.3.4.1 [{low_watermark,27}] -> ok (seed 11, case 127), [{high_watermark,0}] -> einval; ../shared/notes/otp-probes/sk.erl";
    DIFF_SOCK_11 = "DIFF-SOCK-11": "Variant otp-socket on OTP 27 and newer, of DIFF-SOCK-8: low_watermark is accepted and ignored like the other watermarks; it no longer sets SO_RCVLOWAT.",
         "OTP 27.3.4.1 lib/kernel/src/gen_tcp_socket.erl socket_opts/0 has no rcvlowat entry, ignore_optname/1 lists low_watermark (25.2.3: `low_watermark => {socket, rcvlowat}`)";
}

/// The OTP releases each release-specific declared difference was measured
/// to hold on. A DIFF rule not listed holds on every measured release
/// (`OtpRelease::MEASURED`); a rule that is not a DIFF rule is the
/// reference's and holds everywhere.
pub static RELEASES: &[(RuleId, &[u16])] = &[
    (ids::DIFF_INET_2, &[25]),
    (ids::DIFF_INET_6, &[27, 29]),
    (ids::DIFF_INET_8, &[27, 29]),
    (ids::DIFF_SOCK_11, &[27, 29]),
];
