using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Renci.SshNet;
using Renci.SshNet.Common;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Secrets;
using SparkControl.Core.Shell;

namespace SparkControl.Core.Remote;

/// <summary>
/// Runs commands on one Spark over one reused SSH connection (SSH.NET), with the host key pinned, connection
/// failures retried with jittered backoff only when the command cannot have started (or is idempotent), a circuit
/// breaker so a dead Spark fails fast, and per-command timeouts. Cancelling a command kills its remote process group.
/// </summary>
public sealed partial class SshRemoteShell : IRemoteShell
{
    private static readonly ResiliencePropertyKey<bool> IdempotentKey = new("sparkcontrol.idempotent");

    /// <summary>What is kept of a stream's stderr: only its last line is ever shown.</summary>
    private const long StreamStderrChars = 1 << 20;

    /// <summary>How long after a drop its orphaned process group is still ended on reconnect (process ids are reused).</summary>
    private static readonly TimeSpan OrphanLifetime = TimeSpan.FromMinutes(15);

    private readonly SshTarget _target;
    private readonly HostKeyStore _hostKeys;
    private readonly SecretStore _secrets;
    private readonly ConnectivityTracker _tracker;
    private readonly SparkControlMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly SshOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    /// <summary>Channels for short commands; never held by a stream, so streams cannot starve health checks and swaps.</summary>
    private readonly SemaphoreSlim _control;

    /// <summary>Channels for never-ending streams (GPU samples, followed logs).</summary>
    private readonly SemaphoreSlim _streams;
    private readonly ResiliencePipeline _pipeline;

    /// <summary>
    /// Process groups of commands whose connection dropped while they ran. Without a terminal, OpenSSH leaves such a
    /// command running with nobody reading it (a download would go on beside the retry); the next connection ends them.
    /// </summary>
    private readonly ConcurrentQueue<(int ProcessGroup, long DroppedAt)> _orphans = new();
    private SshClient? _client;
    private bool _disposed;

    public SshRemoteShell(SshTarget target, HostKeyStore hostKeys, SecretStore secrets, ConnectivityTracker tracker, SparkControlMetrics metrics, TimeProvider time, SshOptions options, ILogger logger)
    {
        _target = target;
        _hostKeys = hostKeys;
        _secrets = secrets;
        _tracker = tracker;
        _metrics = metrics;
        _time = time;
        _options = options;
        _logger = logger;
        var streams = Math.Clamp(options.MaxStreamsPerSpark, 1, Math.Max(1, options.MaxChannelsPerSpark - 1));
        var control = Math.Max(1, options.MaxChannelsPerSpark - streams);
        _control = new SemaphoreSlim(control, control);
        _streams = new SemaphoreSlim(streams, streams);
        _pipeline = BuildPipeline();
    }

    public string Spark => _target.Spark;

    public async Task<CommandResult> RunAsync(RemoteCommand command, CancellationToken cancellationToken)
    {
        var line = LineFor(command);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(IdempotentKey, command.Idempotent);
        var started = _time.GetTimestamp();
        try
        {
            var result = await _pipeline.ExecuteAsync(static (ctx, state) => new ValueTask<CommandResult>(state.Self.RunOnceAsync(state.Line, state.Command, ctx.CancellationToken)), context, (Self: this, Line: line, Command: command)).ConfigureAwait(false);
            _metrics.RecordSshCommand(Spark, result.Succeeded ? "ok" : "exit-nonzero", _time.GetElapsedTime(started));
            return result;
        }
        catch (Exception ex) when (Translate(ex) is { } translated)
        {
            _metrics.RecordSshCommand(Spark, Outcome(translated), _time.GetElapsedTime(started));
            throw translated;
        }
        catch (Exception ex)
        {
            _metrics.RecordSshCommand(Spark, Outcome(ex), _time.GetElapsedTime(started));
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public async IAsyncEnumerable<string> StreamAsync(RemoteCommand command, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var line = LineFor(command);
        SshClient client;
        try
        {
            // Only connecting goes through the pipeline: a stream that started is never replayed.
            client = await _pipeline.ExecuteAsync(async token => await GetClientAsync(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(ex) is { } translated)
        {
            _metrics.RecordSshCommand(Spark, Outcome(translated), TimeSpan.Zero);
            throw translated;
        }

        // Without a timeout of its own a stream runs until it ends or is cancelled: following logs or GPU samples has no end.
        var timeout = command.Timeout ?? Timeout.InfiniteTimeSpan;
        var started = _time.GetTimestamp();
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var lines = StreamOnceAsync(client, line, command, linked.Token).GetAsyncEnumerator(linked.Token);
        await using var disposeLines = lines.ConfigureAwait(false);
        while (true)
        {
            try
            {
                if (!await lines.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // The stream has already stopped the remote process group on its way out, as a cancel does.
                _metrics.RecordSshCommand(Spark, "timeout", _time.GetElapsedTime(started));
                throw new RemoteCommandTimeoutException(Spark, command.ToString(), timeout);
            }

            yield return lines.Current;
        }
    }

    /// <summary>Waits for a channel of the pool, at most SparkControl:Ssh:ChannelWaitTimeout; past it fails saying which pool is full.</summary>
    private async Task TakeChannelAsync(SemaphoreSlim pool, bool stream, CancellationToken cancellationToken)
    {
        if (!await pool.WaitAsync(_options.ChannelWaitTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new SparkCommandException(Spark, stream
                ? $"{Spark} already has {_options.MaxStreamsPerSpark} streams open (GPU samples, followed logs; SparkControl:Ssh:MaxStreamsPerSpark) and none ended within {_options.ChannelWaitTimeout.TotalSeconds:0} s: close a log view, or raise the setting (OpenSSH allows 10 sessions per connection)."
                : $"Every control channel to {Spark} stayed busy for {_options.ChannelWaitTimeout.TotalSeconds:0} s (SparkControl:Ssh:ChannelWaitTimeout): the Spark answers slowly or commands pile up; try again shortly.", -1, string.Empty);
        }
    }

    private async IAsyncEnumerable<string> StreamOnceAsync(SshClient client, string line, RemoteCommand command, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await TakeChannelAsync(_streams, stream: true, cancellationToken).ConfigureAwait(false);
        var started = _time.GetTimestamp();
        SshCommand? ssh = null;
        Task? execute = null;
        OutputPump? stdout = null;
        OutputPump? stderr = null;
        try
        {
            (ssh, execute) = Begin(client, line, command);
            stdout = OutputPump.Start(ssh.OutputStream, lookForPid: false, toLines: true, _options.MaxOutputBytes);
            // A stream's stderr is kept only for the error message at its end.
            stderr = OutputPump.Start(ssh.ExtendedOutputStream, lookForPid: true, toLines: false, StreamStderrChars);
            string? lastLine = null;
            await foreach (var output in stdout.Lines!.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                lastLine = output;
                yield return output;
            }

            try
            {
                await execute.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SshConnectionException or SshException or SocketException or ObjectDisposedException)
            {
                // The connection went away under a running stream (a reboot does exactly this): say so, never replay.
                Invalidate(client);
                RememberOrphan(stderr);
                _metrics.RecordSshCommand(Spark, "unreachable", _time.GetElapsedTime(started));
                throw new SparkUnreachableException(Spark, $"the connection to {Spark} dropped while '{command}' ran: {ex.Message}", ex);
            }

            await stderr.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            var exit = ExitCode(ssh);
            _metrics.RecordSshCommand(Spark, exit == 0 ? "ok" : "exit-nonzero", _time.GetElapsedTime(started));
            if (exit != 0)
            {
                // With stderr merged into the stream, the error is the stream's own last line.
                var last = stderr.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? lastLine ?? "no output";
                throw new SparkCommandException(Spark, $"'{command}' failed on {Spark} (exit {exit}): {last}", exit, stderr.Text);
            }
        }
        finally
        {
            stdout?.Abandon();
            if (execute is { IsCompleted: false } && ssh is not null && stderr is not null)
            {
                await StopRemoteAsync(client, ssh, execute, stderr).ConfigureAwait(false);
            }

            ssh?.Dispose();
            _streams.Release();
        }
    }

    private async Task<CommandResult> RunOnceAsync(string line, RemoteCommand command, CancellationToken cancellationToken)
    {
        var client = await GetClientAsync(cancellationToken).ConfigureAwait(false);
        await TakeChannelAsync(_control, stream: false, cancellationToken).ConfigureAwait(false);
        SshCommand? ssh = null;
        try
        {
            var startTime = _time.GetUtcNow();
            (ssh, var execute) = Begin(client, line, command);
            var stdout = OutputPump.Start(ssh.OutputStream, lookForPid: false, toLines: false, _options.MaxOutputBytes);
            var stderr = OutputPump.Start(ssh.ExtendedOutputStream, lookForPid: true, toLines: false, _options.MaxOutputBytes);
            var timeout = command.Timeout ?? _options.CommandTimeout;
            using var deadline = new CancellationTokenSource(timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            try
            {
                // A command that prints more than the panel keeps is stopped, not read to its end into memory.
                var overflow = Task.WhenAny(stdout.Overflow, stderr.Overflow);
                if (await Task.WhenAny(execute, overflow).WaitAsync(linked.Token).ConfigureAwait(false) == overflow)
                {
                    await StopRemoteAsync(client, ssh, execute, stderr).ConfigureAwait(false);
                    throw new SparkCommandException(Spark, $"'{command}' printed more than {(_options.MaxOutputBytes >= 1 << 20 ? $"{_options.MaxOutputBytes >> 20} MiB" : $"{_options.MaxOutputBytes >> 10} KiB")} on {Spark}, more than the panel keeps (SparkControl:Ssh:MaxOutputBytes); it was stopped.", -1, string.Empty);
                }

                await execute.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                await StopRemoteAsync(client, ssh, execute, stderr).ConfigureAwait(false);
                if (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new RemoteCommandTimeoutException(Spark, command.ToString(), timeout);
                }

                throw;
            }
            catch (Exception ex) when (ex is SshConnectionException or SshException or SocketException or ObjectDisposedException)
            {
                Invalidate(client);
                RememberOrphan(stderr);
                throw new SshTransientException(Spark, started: true, $"the connection to {Spark} dropped while '{command}' ran: {ex.Message}", ex);
            }

            await Task.WhenAll(stdout.Completion, stderr.Completion).WaitAsync(TimeSpan.FromSeconds(10), _time, CancellationToken.None).ConfigureAwait(false);
            return new CommandResult(ExitCode(ssh), stdout.Text, stderr.Text, startTime, _time.GetUtcNow());
        }
        finally
        {
            ssh?.Dispose();
            _control.Release();
        }
    }

    private string LineFor(RemoteCommand command) => ShellCommand.ForRemote(command.Argv, _target.PathPrefix, command.MergeStderr, command.HasInput);

    private (SshCommand Command, Task Execute) Begin(SshClient client, string line, RemoteCommand command)
    {
        SshCommand? ssh = null;
        try
        {
            ssh = client.CreateCommand(line, Encoding.UTF8);
            ssh.CommandTimeout = Timeout.InfiniteTimeSpan;
            var execute = ssh.ExecuteAsync(CancellationToken.None);
            if (command.HasInput)
            {
                WriteInput(ssh, command.Stdin!);
            }

            return (ssh, execute);
        }
        catch (Exception ex) when (ex is SshConnectionException or SshException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            ssh?.Dispose();
            Invalidate(client);
            throw new SshTransientException(Spark, started: false, $"could not open a session on {Spark}: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the command's input, then closes it (EOF). The command has started: nothing here may retry it.</summary>
    private static void WriteInput(SshCommand ssh, string stdin)
    {
        try
        {
            using var input = ssh.CreateInputStream();
            input.Write(Encoding.UTF8.GetBytes(stdin));
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            // The server closed the channel first: the command ended without reading its input. How it ended (its
            // exit code, or a dropped connection) is what the execution reports.
        }
    }

    /// <summary>
    /// Ends a remote command that is still running. The signal request is tried, but OpenSSH ignores it for some
    /// logins (root among them), so the command's process group is then killed from a second session.
    /// </summary>
    private async Task StopRemoteAsync(SshClient client, SshCommand ssh, Task execute, OutputPump stderr)
    {
        try
        {
            var pid = await stderr.Pid.WaitAsync(TimeSpan.FromSeconds(5), _time).ConfigureAwait(false);
            if (pid is not null && !client.IsConnected)
            {
                RememberOrphan(stderr);
            }
            else if (pid is { } processGroup)
            {
                using var kill = client.CreateCommand(ShellCommand.Join(ShellCommand.KillProcessGroup(processGroup)));
                kill.CommandTimeout = TimeSpan.FromSeconds(15);
                await kill.ExecuteAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15), _time).ConfigureAwait(false);
            }
            else
            {
                ssh.CancelAsync(forceKill: true, millisecondsTimeout: 1000);
            }

            await execute.WaitAsync(TimeSpan.FromSeconds(10), _time).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or SshException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            LogStopFailed(Spark, ex);
        }
    }

    private async Task<SshClient> GetClientAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_client is { IsConnected: true } connected)
        {
            return connected;
        }

        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is { IsConnected: true } raced)
            {
                return raced;
            }

            _client?.Dispose();
            _client = null;
            var client = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            _client = client;
            _tracker.Report(Spark, ConnectionState.Connected);
            LogConnected(Spark, _target.Host, _target.Port);
            await EndOrphansAsync(client).ConfigureAwait(false);
            return client;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>A new connection, the host key checked against the pinned one; each way it can fail is reported to the connection tracker in words.</summary>
    private async Task<SshClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new SshClient(CreateConnectionInfo()) { KeepAliveInterval = _options.KeepAliveInterval };
        (HostKeyVerdict Verdict, string Fingerprint, string? Previous)? keyCheck = null;
        client.HostKeyReceived += (_, e) =>
        {
            keyCheck = _hostKeys.Check(_target.Host, _target.Port, e.HostKeyName, e.HostKey);
            e.CanTrust = keyCheck.Value.Verdict == HostKeyVerdict.Trusted;
        };
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SshConnectionException) when (keyCheck is { Verdict: not HostKeyVerdict.Trusted } check)
        {
            client.Dispose();
            _tracker.Report(Spark, check.Verdict == HostKeyVerdict.Changed ? ConnectionState.HostKeyChanged : ConnectionState.HostKeyNotApproved,
                check.Verdict == HostKeyVerdict.Changed ? $"host key changed: pinned {check.Previous}, presented {check.Fingerprint}" : $"host key {check.Fingerprint} not approved yet",
                check.Fingerprint);
            throw new HostKeyNotApprovedException(Spark, check.Fingerprint, check.Previous);
        }
        catch (SshAuthenticationException ex)
        {
            client.Dispose();
            var message = $"{_target.User}@{_target.Host} refused the key {_target.KeyPath}: {ex.Message}";
            _tracker.Report(Spark, ConnectionState.AuthenticationFailed, message);
            throw new SparkUnreachableException(Spark, message, ex);
        }
        catch (Exception ex) when (ex is SocketException or SshConnectionException or SshOperationTimeoutException or SshException or ProxyException or IOException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            client.Dispose();
            var message = ex is OperationCanceledException or SshOperationTimeoutException
                ? $"no SSH answer from {_target.Host}:{_target.Port} within {_options.ConnectTimeout.TotalSeconds:0} s"
                : $"cannot connect to {_target.Host}:{_target.Port}: {ex.Message}";
            _tracker.Report(Spark, ConnectionState.Unreachable, message);
            throw new SshTransientException(Spark, started: false, message, ex);
        }

        return client;
    }

    private void RememberOrphan(OutputPump stderr)
    {
        if (stderr.Pid is { IsCompletedSuccessfully: true, Result: { } processGroup })
        {
            _orphans.Enqueue((processGroup, _time.GetTimestamp()));
        }
    }

    /// <summary>
    /// Ends what dropped connections left running, on the first connection after them. A process group is ended only
    /// if its leader still leads a session of its own (as sshd starts every command) and the drop was recent
    /// (<see cref="OrphanLifetime"/>): a number reused since by another program is left alone.
    /// </summary>
    private async Task EndOrphansAsync(SshClient client)
    {
        while (_orphans.TryDequeue(out var orphan))
        {
            if (_time.GetElapsedTime(orphan.DroppedAt) > OrphanLifetime)
            {
                continue;
            }

            try
            {
                using var kill = client.CreateCommand(ShellCommand.Join(ShellCommand.KillProcessGroup(orphan.ProcessGroup, onlySessionLeader: true)));
                kill.CommandTimeout = TimeSpan.FromSeconds(15);
                await kill.ExecuteAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15), _time).ConfigureAwait(false);
                LogOrphanEnded(Spark, orphan.ProcessGroup);
            }
            catch (Exception ex) when (ex is TimeoutException or SshException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                LogStopFailed(Spark, ex);
            }
        }
    }

    private ConnectionInfo CreateConnectionInfo()
    {
        if (string.IsNullOrEmpty(_target.KeyPath))
        {
            throw new SparkUnreachableException(Spark, $"{Spark} has no keyPath: set the private key to log in with in Settings.");
        }

        PrivateKeyFile key;
        try
        {
            // Read through the one gate for key files: inside a key directory, a regular file, 64 KiB at most.
            var bytes = SshKeyFiles.Read(_target.KeyPath, _target.KeyDirectories);
            var passphrase = _secrets.Reveal(SecretStore.PassphraseFor(Spark));
            using var stream = new MemoryStream(bytes, writable: false);
            key = passphrase is null ? new PrivateKeyFile(stream) : new PrivateKeyFile(stream, passphrase);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SshException or ArgumentException or InvalidOperationException or FormatException)
        {
            var message = ex switch
            {
                SshKeyFileException refused => refused.Message,
                SshPassPhraseNullOrEmptyException => $"the key {_target.KeyPath} needs a passphrase: set the secret {SecretStore.PassphraseFor(Spark)} in Settings",
                InvalidOperationException when ex.Message.Contains("passphrase", StringComparison.OrdinalIgnoreCase) => $"the key {_target.KeyPath} needs a passphrase: set the secret {SecretStore.PassphraseFor(Spark)} in Settings",
                _ => $"cannot read the key {_target.KeyPath}: {ex.Message}",
            };
            _tracker.Report(Spark, ConnectionState.AuthenticationFailed, message);
            throw new SparkUnreachableException(Spark, message, ex);
        }

        return new ConnectionInfo(_target.Host, _target.Port, _target.User, new PrivateKeyAuthenticationMethod(_target.User, key))
        {
            Timeout = _options.ConnectTimeout,
            ChannelCloseTimeout = TimeSpan.FromSeconds(5),
        };
    }

    private void Invalidate(SshClient client)
    {
        if (ReferenceEquals(_client, client) && !client.IsConnected)
        {
            _client = null;
            client.Dispose();
        }
    }

    private ResiliencePipeline BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.RetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                // A command that may have started is only repeated when running it twice is harmless.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is SshTransientException transient
                    && (!transient.Started || args.Context.Properties.GetValue(IdempotentKey, false))),
                MaxRetryAttempts = _options.RetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is SshTransientException),
            FailureRatio = 1.0,
            MinimumThroughput = _options.CircuitBreakerFailures,
            SamplingDuration = TimeSpan.FromMinutes(1),
            BreakDuration = _options.CircuitBreakDuration,
            OnOpened = args =>
            {
                _tracker.Report(Spark, ConnectionState.CircuitOpen, $"{_options.CircuitBreakerFailures} connection failures in a row; calls fail fast for {args.BreakDuration.TotalSeconds:0} s, then one is let through");
                _metrics.RecordCircuitChange(Spark, "open");
                LogCircuitOpened(Spark);
                return default;
            },
            OnClosed = _ =>
            {
                _metrics.RecordCircuitChange(Spark, "closed");
                LogCircuitClosed(Spark);
                return default;
            },
            OnHalfOpened = _ =>
            {
                _metrics.RecordCircuitChange(Spark, "half-open");
                return default;
            },
        });
        return builder.Build();
    }

    private Exception? Translate(Exception ex) => ex switch
    {
        BrokenCircuitException broken => new SparkUnreachableException(Spark, $"{Spark} is unreachable (circuit open after repeated connection failures; it is tried again in {(broken.RetryAfter ?? _options.CircuitBreakDuration).TotalSeconds:0} s).", broken),
        SshTransientException transient => new SparkUnreachableException(Spark, transient.Message, transient),
        _ => null,
    };

    private static string Outcome(Exception ex) => ex switch
    {
        RemoteCommandTimeoutException => "timeout",
        HostKeyNotApprovedException => "host-key",
        OperationCanceledException => "cancelled",
        SparkUnreachableException { InnerException: BrokenCircuitException } => "circuit-open",
        SparkUnreachableException => "unreachable",
        _ => "error",
    };

    private static int ExitCode(SshCommand command) =>
        command.ExitStatus ?? (command.ExitSignal is { } signal ? 128 + SignalNumber(signal) : -1);

    private static int SignalNumber(string signal) => signal switch
    {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "KILL" => 9,
        "PIPE" => 13,
        "TERM" => 15,
        _ => 0,
    };

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _connectGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _client?.Dispose();
            _client = null;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SSH connected to {Spark} ({Host}:{Port})")]
    private partial void LogConnected(string spark, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Circuit for {Spark} opened after repeated connection failures")]
    private partial void LogCircuitOpened(string spark);

    [LoggerMessage(Level = LogLevel.Information, Message = "Circuit for {Spark} closed: the Spark answers again")]
    private partial void LogCircuitClosed(string spark);

    [LoggerMessage(Level = LogLevel.Information, Message = "Ended process group {ProcessGroup} on {Spark}, left running by a dropped connection")]
    private partial void LogOrphanEnded(string spark, int processGroup);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping a remote command on {Spark} did not complete cleanly")]
    private partial void LogStopFailed(string spark, Exception ex);
}

/// <summary>A connection-level failure; <see cref="Started"/> says whether the command may already have run.</summary>
internal sealed class SshTransientException(string spark, bool started, string message, Exception inner) : Exception(message, inner)
{
    public string Spark { get; } = spark;
    public bool Started { get; } = started;
}
