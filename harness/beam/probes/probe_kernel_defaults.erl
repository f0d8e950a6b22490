-module(probe_kernel_defaults).
-export([main/1]).
%% OPT-8: what the kernel environment's inet_default_connect_options and
%% inet_default_listen_options do to gen_tcp's sockets, on either backend:
%%   erl -noshell -run probe_kernel_defaults main inet|socket
main([Backend0]) ->
    Backend = list_to_atom(Backend0),
    B = [{inet_backend, Backend}],
    Keys = [active, delay_send, high_watermark, low_watermark, send_timeout],
    Env = [{delay_send,true},{high_watermark,20000},{active,false},{send_timeout,3000}],
    application:set_env(kernel, inet_default_connect_options, Env),
    application:set_env(kernel, inet_default_listen_options, [{low_watermark,1000},{active,false},{delay_send,true}]),
    {ok, L} = gen_tcp:listen(0, B ++ [{ip,{127,0,0,1}}]),
    {ok, P} = inet:port(L),
    io:format("listen getopts: ~p~n", [inet:getopts(L, Keys)]),
    {ok, C} = gen_tcp:connect({127,0,0,1}, P, B),
    io:format("connect (no opts) getopts: ~p~n", [inet:getopts(C, Keys)]),
    {ok, C2} = gen_tcp:connect({127,0,0,1}, P, B ++ [{delay_send,false},{active,once}]),
    io:format("connect (delay_send false, active once) getopts: ~p~n", [inet:getopts(C2, Keys)]),
    {ok, A} = gen_tcp:accept(L),
    io:format("accepted getopts: ~p~n", [inet:getopts(A, Keys)]),
    application:set_env(kernel, inet_default_connect_options, {delay_send,true}),
    {ok, C3} = gen_tcp:connect({127,0,0,1}, P, B),
    io:format("connect (env a single tuple) getopts: ~p~n", [inet:getopts(C3, Keys)]),
    application:set_env(kernel, inet_default_connect_options, {active,false}),
    {ok, C4} = gen_tcp:connect({127,0,0,1}, P, B),
    io:format("connect (env {active,false}) getopts: ~p~n", [inet:getopts(C4, Keys)]),
    halt().
