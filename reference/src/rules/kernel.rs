//! Kernel behaviours the runtimes rely on (checked by `harness::kernel`
//! probes, not by the lockstep model). Each statement says what is expected
//! on which kernel; the probes run on the real kernel (`suite/tests/kernel.rs`)
//! and report a broken expectation as `<ID>: …`.
//!
//! Seeds (yufeng, blog.yufeng.info): "TCP链接主动关闭不发fin包奇怪行为分析"
//! (2011), "非阻塞connect的一个细节" (2010), "Linux下pipe使用注意事项"
//! (2011), "gen_tcp接受链接时enfile的问题分析及解决" (2011),
//! "MYSQL数据库网卡软中断不平衡问题及解决方案" (2012).

catalogue! {
    Kernel, KERNEL;
    // --- close: RST or FIN ------------------------------------------------------------------
    KN_RST_1 = "KN-RST-1": "All kernels: close() of a TCP socket of a live connection (not one its peer already reset: KN-RST-6) with unread data in its receive queue sends RST instead of FIN; the peer's next recv fails with ECONNRESET (the one after returns 0), and TcpExt TCPAbortOnClose rises by 1 in the closer's netns.",
        "net/ipv4/tcp.c __tcp_close(): data_was_unread -> LINUX_MIB_TCPABORTONCLOSE, tcp_send_active_reset (RFC 2525 2.17); seed \"TCP链接主动关闭不发fin包奇怪行为分析\"; selftests net/packetdrill/tcp_close_no_rst.pkt";
    KN_RST_2 = "KN-RST-2": "All kernels: close() after the receive queue was drained sends FIN; the peer's recv returns 0 and no abort counter moves.",
        "net/ipv4/tcp.c __tcp_close() -> tcp_close_state()/tcp_send_fin(); seed \"TCP链接主动关闭不发fin包奇怪行为分析\" (the squid drain loop)";
    KN_RST_3 = "KN-RST-3": "All kernels: SO_LINGER {on, 0} makes close() send RST even with the receive queue drained; the peer gets ECONNRESET; counted as TCPAbortOnData, not TCPAbortOnClose.",
        "net/ipv4/tcp.c __tcp_close(): `else if (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime)` -> disconnect, LINUX_MIB_TCPABORTONDATA; socket(7) SO_LINGER";
    KN_RST_4 = "KN-RST-4": "All kernels: with SO_LINGER {on, 0} and unread data, the unread-data branch wins: RST counted as TCPAbortOnClose (not TCPAbortOnData).",
        "net/ipv4/tcp.c __tcp_close(): unread data is checked before zero linger (\"Check zero linger _after_ checking for unread data\")";
    KN_RST_5 = "KN-RST-5": "All kernels: FIN or RST is decided inside close() from the receive queue at that moment, so a runtime that reads and discards a socket's pending input right before close() (the native runtime's CloseMode::DrainInput) closes with FIN although its owner never read that input: the peer reads EOF (no ECONNRESET) and TCPAbortOnClose does not rise. Closed without the drain, the same socket resets the peer (KN-RST-1). Input arriving after the drain still resets.",
        "net/ipv4/tcp.c __tcp_close(): sk_receive_queue is walked at close time (data_was_unread -> LINUX_MIB_TCPABORTONCLOSE, tcp_send_active_reset; else tcp_close_state()/tcp_send_fin()); harness/native/src/close_mode.rs; seed \"TCP链接主动关闭不发fin包奇怪行为分析\" (the squid drain loop)";
    KN_RST_6 = "KN-RST-6": "All kernels: a socket its peer already reset (the RST arrived: POLLERR, the socket in TCP_CLOSE) closes with unread data in its receive queue without sending anything: no RST, TcpExt TCPAbortOnClose and Tcp OutRsts do not move in the closer's netns. KN-RST-1 needs a live connection.",
        "net/ipv4/tcp.c __tcp_close(): the receive queue is purged, then `if (sk->sk_state == TCP_CLOSE) goto adjudge_to_death;` before the data_was_unread branch; net/ipv4/tcp_input.c tcp_reset() -> tcp_done() (TCP_CLOSE, the receive queue kept); packetdrill tcp_fastopen_server_reset-close-with-unread-data.pkt (issue 16)";
    KN_RST_7 = "KN-RST-7": "All kernels: close() of a socket whose non-blocking connect is still in SYN_SENT sends nothing, neither RST nor FIN: Tcp OutRsts does not move in the closer's netns; the attempt is dropped.",
        "net/ipv4/tcp.c __tcp_close() -> tcp_close_state(): new_state[TCP_SYN_SENT] = TCP_CLOSE without TCP_ACTION_FIN, and the unread-data and zero-linger branches do not apply to an empty SYN_SENT socket; issue 16 (the peer audit's kernel tier: close in SYN_SENT sends no RST)";
    KN_RST_8 = "KN-RST-8": "All kernels: close() with the receive queue drained and output still in the kernel's write queue sends that output, then FIN: the peer reads every byte written, then EOF (no ECONNRESET), and no abort counter moves.",
        "net/ipv4/tcp.c __tcp_close() -> tcp_close_state() (ESTABLISHED -> FIN_WAIT1 with TCP_ACTION_FIN) -> tcp_send_fin(): the FIN rides on, or is queued after, the write queue's tail skb; issue 16 (the peer audit's kernel tier: FIN-only close after a full drain with data still in the write queue)";
    KN_RST_9 = "KN-RST-9": "All kernels: after the peer's FIN (the closer in CLOSE_WAIT, its read returning 0), close() sends FIN, never RST (CLOSE_WAIT -> LAST_ACK; the FIN is seen on lo): the peer reads EOF and, its own FIN acknowledged, keeps the connection in TIME_WAIT; Tcp OutRsts does not move in the closer's netns. Once the peer has acknowledged that FIN the closer keeps no record of the connection, so a segment the peer's address and port send afterwards is answered with RST (OutRsts +1, the RST seen on lo).",
        "net/ipv4/tcp.c __tcp_close() -> tcp_close_state(): new_state[TCP_CLOSE_WAIT] = TCP_LAST_ACK | TCP_ACTION_FIN -> tcp_send_fin(); net/ipv4/tcp_input.c tcp_rcv_state_process() (LAST_ACK + ACK of the FIN -> tcp_done); net/ipv4/tcp_ipv4.c tcp_v4_rcv() no_tcp_socket -> tcp_v4_send_reset(); google/packetdrill gtests/net/tcp/close/close-remote-fin-then-close.pkt (issue 16)";
    KN_RST_10 = "KN-RST-10": "All kernels: shutdown(SHUT_RDWR) with the receive queue drained and output still in the kernel's write queue sends that output, then FIN, and no RST: the peer reads every byte written, then EOF (no ECONNRESET); a write after the shutdown fails with EPIPE; no abort counter moves and Tcp OutRsts does not move.",
        "net/ipv4/af_inet.c inet_shutdown() -> tcp_shutdown(): SEND_SHUTDOWN -> tcp_close_state() (ESTABLISHED -> FIN_WAIT1) -> tcp_send_fin() queued after the write queue's tail; net/ipv4/tcp.c tcp_sendmsg_locked() (SEND_SHUTDOWN -> -EPIPE); google/packetdrill gtests/net/tcp/shutdown/shutdown-rdwr-write-queue-close.pkt, shutdown-rdwr-send-queue-ack-close.pkt (issue 16)";
    KN_RST_11 = "KN-RST-11": "All kernels: close() of a listener resets every connection still in its accept queue (completed by the client, never accepted): one RST each (Tcp OutRsts rises by their number in the listener's netns), the client's next recv fails with ECONNRESET and the one after returns 0. A gen_tcp client therefore sees the listener's close as the peer's RST (RS-1: {error,closed} or tcp_closed without show_econnreset).",
        "net/ipv4/inet_connection_sock.c inet_csk_listen_stop(): every request left in icsk_accept_queue -> inet_child_forget() -> sk_prot->disconnect() = tcp_disconnect(): tcp_need_reset(TCP_ESTABLISHED) -> tcp_send_active_reset(), sk_err = ECONNRESET; gen_tcp_misc_SUITE:no_accept (a listener closed with a connected, unaccepted client: the client gets tcp_closed) (issue 16)";
    // --- non-blocking connect ----------------------------------------------------------------
    KN_CONN_1 = "KN-CONN-1": "All kernels: non-blocking connect to a closed loopback port returns EINPROGRESS (never an immediate ECONNREFUSED); the socket then polls POLLOUT|POLLERR|POLLHUP and SO_ERROR is ECONNREFUSED.",
        "net/ipv4/af_inet.c __inet_stream_connect() (-EINPROGRESS); net/ipv4/tcp_input.c tcp_reset() (SYN_SENT -> ECONNREFUSED); connect(2) EINPROGRESS; seed \"非阻塞connect的一个细节\"";
    KN_CONN_2 = "KN-CONN-2": "All kernels: writability does not mean connected: a refused connect is writable; the outcome is SO_ERROR read after POLLOUT (harness connect_result), as inet_drv.c does.",
        "connect(2) EINPROGRESS paragraph; erts inet_drv.c tcp_inet_output (sock_getopt SO_ERROR after the write event); seed \"非阻塞connect的一个细节\"";
    KN_CONN_3 = "KN-CONN-3": "All kernels: non-blocking connect to a listening loopback port returns EINPROGRESS, then POLLOUT with SO_ERROR 0.",
        "net/ipv4/af_inet.c __inet_stream_connect(); net/ipv4/tcp_input.c tcp_rcv_synsent_state_process()";
    KN_CONN_4 = "KN-CONN-4": "All kernels: with no route to the destination (a netns with only lo), connect fails at once with ENETUNREACH (no SYN, no SO_ERROR path).",
        "net/ipv4/tcp_ipv4.c tcp_v4_connect() -> ip_route_connect() error returned directly; net/ipv4/route.c";
    KN_CONN_5 = "KN-CONN-5": "All kernels: when SYNs are silently dropped (no ICMP, no neighbour failure), connect returns EINPROGRESS and after TCP_SYNCNT retransmissions the socket becomes writable with SO_ERROR = ETIMEDOUT (~3 s with TCP_SYNCNT=1 and tcp_syn_linear_timeouts=0). An unanswered ARP resolution instead ends it with SO_ERROR = EHOSTUNREACH after ~3 s (mcast_solicit 3 x retrans_time 1 s), when that comes before the SYN timeout (the probe uses TCP_SYNCNT=4 there).",
        "net/ipv4/tcp_timer.c tcp_write_timeout() -> tcp_write_err(): sk_err = sk_err_soft ?: ETIMEDOUT; tcp(7) TCP_SYNCNT; net/ipv4/arp.c arp_error_report() -> dst_link_failure() -> ICMP host unreachable -> tcp_v4_err() (SYN_SENT: tcp_done_with_error)";
    KN_CONN_6 = "KN-CONN-6": "All kernels: route types that reject fail connect at once: unreachable -> EHOSTUNREACH, blackhole -> EINVAL, prohibit -> EACCES.",
        "net/ipv4/fib_semantics.c fib_props[] (.error per RTN_*); ip-route(8) route types";
    KN_CONN_7 = "KN-CONN-7": "All kernels: a *blocking* connect to a loopback port nobody listens on fails in the call itself with ECONNREFUSED (the SYN answered with RST), leaving SO_ERROR 0 (the error was consumed); a second blocking connect on the same socket fails with ECONNREFUSED again.",
        "net/ipv4/af_inet.c __inet_stream_connect(): inet_wait_for_connect(), then `sock_error(sk)` when the state is TCP_CLOSE (reads and clears sk_err); net/ipv4/tcp_input.c tcp_reset() (SYN_SENT -> ECONNREFUSED); connect(2) ECONNREFUSED; LTP testcases/kernel/syscalls/connect/connect01.c";
    // --- pipes and FIFOs -------------------------------------------------------------------
    KN_PIPE_1 = "KN-PIPE-1": "Linux >= 6.15: reading or writing an anonymous pipe changes none of st_atime/st_mtime/st_ctime. Linux < 6.15: a read updates atime (pipefs has no relatime) unless O_NOATIME, a write updates mtime and ctime.",
        "fs/pipe.c anon_pipe_read()/anon_pipe_write() and pipeanon_fops, commits 262b2fa99cbe \"pipe: introduce struct file_operations pipeanon_fops\" and f017b0a4951f \"pipe: don't update {a,c,m}time for anonymous pipes\" (v6.15); seed \"Linux下pipe使用注意事项\" (2.6.18 pipe_read -> file_accessed)";
    KN_PIPE_2 = "KN-PIPE-2": "All kernels: a named FIFO's read updates st_atime (subject to the mount's atime policy: relatime updates an atime older than mtime/ctime or 24 h; noatime never) and a write updates st_mtime.",
        "fs/pipe.c fifo_pipe_read() -> file_accessed(), fifo_pipe_write() -> file_update_time(); fs/inode.c atime_needs_update()/relatime_need_update()";
    KN_PIPE_3 = "KN-PIPE-3": "All kernels: O_NOATIME on the reading fd suppresses the FIFO's atime update; it does not suppress the writer's mtime update.",
        "include/linux/fs.h file_accessed(): `if (!(file->f_flags & O_NOATIME)) touch_atime(...)`; seed \"Linux下pipe使用注意事项\"";
    KN_PIPE_4 = "KN-PIPE-4": "All kernels: fcntl(F_SETFL, O_NOATIME) is accepted for the file's owner (also an unprivileged owner of its own pipe) and fails with EPERM for a non-owner without CAP_FOWNER (uid 65534 on a root-owned FIFO).",
        "fs/fcntl.c setfl(): `if (((arg ^ filp->f_flags) & O_NOATIME) && !inode_owner_or_capable(...)) return -EPERM`; fcntl(2), open(2) O_NOATIME";
    // --- regular files: O_NOATIME and the mount's atime policy -------------------------------
    KN_ATIME_1 = "KN-ATIME-1": "All kernels: a read of a regular file opened with open(O_RDONLY|O_NOATIME) by its owner leaves st_atime unchanged on a strictatime mount (the same read through an fd opened without the flag updates it).",
        "include/linux/fs.h file_accessed(): `if (!(file->f_flags & O_NOATIME)) touch_atime(...)`; mm/filemap.c filemap_read() -> file_accessed(); LTP testcases/kernel/syscalls/open/open12.c (test_noatime)";
    KN_ATIME_2 = "KN-ATIME-2": "All kernels: the same through openat(dirfd, name, O_RDONLY|O_NOATIME): a read leaves st_atime unchanged on a strictatime mount (without the flag it is updated).",
        "fs/open.c do_sys_openat2() -> build_open_flags() keeps O_NOATIME in f_flags; include/linux/fs.h file_accessed(); LTP testcases/kernel/syscalls/openat/openat02.c (testfunc_noatime)";
    KN_ATIME_3 = "KN-ATIME-3": "All kernels: open(O_RDONLY|O_NOATIME) of a regular file the caller does not own fails with EPERM without CAP_FOWNER (uid 65534 on a root-owned mode-0644 file), while the same open without O_NOATIME succeeds.",
        "fs/namei.c may_open(): `if (flag & O_NOATIME && !inode_owner_or_capable(idmap, inode)) return -EPERM`; open(2) EPERM; LTP testcases/kernel/syscalls/open/open02.c";
    KN_ATIME_4 = "KN-ATIME-4": "All kernels: on a MS_NOATIME mount a regular file's read never updates st_atime; on a MS_STRICTATIME mount every read does, also when atime is newer than mtime and ctime and less than a day old (where a MS_RELATIME mount, the control, leaves it).",
        "fs/inode.c atime_needs_update(): `if (mnt->mnt_flags & MNT_NOATIME) return false`, relatime_need_update() only under MNT_RELATIME; fs/namespace.c (MS_STRICTATIME clears MNT_RELATIME); LTP testcases/kernel/syscalls/mount/mount03.c";
    // --- fd exhaustion on accept -----------------------------------------------------------
    KN_EMFILE_1 = "KN-EMFILE-1": "All kernels: at RLIMIT_NOFILE, accept fails with EMFILE (even with an empty queue: the fd is reserved before dequeuing) while the connection stays queued; once an fd is freed the same connection is accepted.",
        "net/socket.c __sys_accept4_file()/do_accept(): get_unused_fd_flags() before ops->accept; seed \"gen_tcp接受链接时enfile的问题分析及解决\"";
    KN_EMFILE_2 = "KN-EMFILE-2": "All kernels: the listener stays readable (level-triggered) during EMFILE, so a naive epoll accept loop spins; an accept loop that drops accept interest and re-arms on a timer or on an fd release has bounded wakeups and loses neither the listener nor the queued connection.",
        "nginx src/event/ngx_event_accept.c (ngx_disable_accept_events on EMFILE/ENFILE); libuv src/unix/core.c uv__emfile_trick; libev manual \"The special problem of accept()ing when you can't\"";
    KN_EMFILE_3 = "KN-EMFILE-3": "All kernels: at RLIMIT_NOFILE (every fd below the limit in use), pipe() fails with EMFILE; with one fd free it still fails with EMFILE (it needs two) and leaves that fd free (an open() then takes it).",
        "fs/pipe.c do_pipe2() -> __do_pipe_flags(): get_unused_fd_flags() for each end, put_unused_fd() on failure; fs/file.c alloc_fd() (-EMFILE at rlimit(RLIMIT_NOFILE)); LTP testcases/kernel/syscalls/pipe/pipe06.c";
    KN_EMFILE_4 = "KN-EMFILE-4": "All kernels: a process with `open` fds in use, all below its RLIMIT_NOFILE `limit`, gets exactly floor((limit - open) / 2) pipes, 2 fds each, then EMFILE; with an odd number of free slots the slot left over still opens.",
        "fs/file.c alloc_fd() (lowest free fd below rlimit(RLIMIT_NOFILE)); fs/pipe.c __do_pipe_flags(); LTP testcases/kernel/syscalls/pipe/pipe07.c";
    KN_EMFILE_5 = "KN-EMFILE-5": "All kernels: at RLIMIT_NOFILE, open() (and openat) of an existing file fails with EMFILE; once one fd is closed the same open() succeeds and gets the freed number (the lowest free fd).",
        "fs/open.c do_sys_openat2() -> get_unused_fd_flags() -> fs/file.c alloc_fd() (-EMFILE); LTP testcases/kernel/syscalls/open/open04.c";
    KN_ENFILE_1 = "KN-ENFILE-1": "ENFILE (fs.file-max reached) cannot be produced by a root test: CAP_SYS_ADMIN bypasses the limit, and file-max is global to the machine. Always reported as SKIP.",
        "fs/file_table.c alloc_empty_file(): `if (get_nr_files() >= files_stat.max_files && !capable(CAP_SYS_ADMIN))`; seed \"gen_tcp接受链接时enfile的问题分析及解决\"";
    // --- RPS --------------------------------------------------------------------------------
    KN_RPS_1 = "KN-RPS-1": "All kernels with RPS: queues/rx-N/rps_cpus reads back as hex in comma-separated 32-bit groups, most significant first, the first group as wide as nr_cpu_ids needs; offline CPUs vanish; `0` disables RPS.",
        "net/core/net-sysfs.c show_rps_map() (\"%*pb\" over nr_cpu_ids) and store_rps_map(); lib/vsprintf.c bitmap_string(); Documentation/networking/scaling.rst; seed \"MYSQL数据库网卡软中断不平衡问题及解决方案\" (echo f > rps_cpus)";
    KN_RPS_2 = "KN-RPS-2": "All kernels with RPS: writing a mask with a non-hex digit fails with EINVAL; a mask with bits at or beyond nr_cpu_ids, or more 32-bit groups than nr_cpu_ids needs, fails with EOVERFLOW (on 2 CPUs: 4, ff, 0,3).",
        "lib/bitmap-str.c bitmap_parse()/bitmap_get_x32_reverse(); net/core/net-sysfs.c store_rps_map()";
    KN_RPS_3 = "KN-RPS-3": "All kernels with RPS: with rps_cpus of a veth's rx queue steering to one CPU, a burst received on it from another CPU raises the target CPU's received_rps (softnet_stat column 10, one per RPS IPI) far above every other CPU's; with rps_cpus 0 nothing is steered (no received_rps). NET_RX softirqs then run on both CPUs: the sender's CPU still raises NET_RX to send the IPIs (napi_schedule_rps), so NET_RX alone does not show the steering.",
        "net/core/dev.c get_rps_cpu(), enqueue_to_backlog(), napi_schedule_rps(), rps_trigger_softirq() (received_rps++); net/core/net-procfs.c softnet_seq_show(); seed \"MYSQL数据库网卡软中断不平衡问题及解决方案\" (/proc/softirqs NET_RX imbalance)";
    KN_RPS_4 = "KN-RPS-4": "Kernels that have net.core.rps_default_mask (otherwise SKIP): the sysctl is per network namespace, 0 in a new netns; a device created in that netns after it is set gets it as its rx queues' rps_cpus, a device that existed before keeps its mask, and another netns (its own default 0) is not affected.",
        "net/core/sysctl_net_core.c rps_default_mask_sysctl() (include/net/netns/core.h: net->core.rps_default_mask, per netns); net/core/net-sysfs.c rx_queue_default_mask() at rx queue registration; tools/testing/selftests/net/rps_default_mask.sh";
    // --- buffers and the fingerprint -------------------------------------------------------
    KN_BUF_1 = "KN-BUF-1": "All kernels: SO_SNDBUF/SO_RCVBUF set to 1 are clamped to SOCK_MIN_SNDBUF/SOCK_MIN_RCVBUF (4608/2304 on x86_64 6.x); the value read back is the kernel's, not the caller's.",
        "net/core/sock.c sk_setsockopt() SO_SNDBUF/SO_RCVBUF (max_t with SOCK_MIN_*, doubled); include/net/sock.h SOCK_MIN_SNDBUF; socket(7)";
    KN_FP_1 = "KN-FP-1": "The kernel fingerprint (release major.minor, minimum buffers, which of the KN behaviours hold) matches the recorded snapshot snapshots/kernel_fingerprint.snap; a change means the machine kind changed.",
        "harness/src/kernel/fingerprint.rs; the KN-* rules above";
}
