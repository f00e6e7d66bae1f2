using System.Text;
using System.Threading.Channels;

namespace SparkControl.Core.Remote;

/// <summary>
/// Reads one of a command's output streams on its own thread (SSH.NET's streams block on read) until the channel
/// closes: into a buffer, line by line into a channel, and picking out the pid marker the remote shell writes first.
/// </summary>
internal sealed class OutputPump
{
    private readonly StringBuilder _text = new();
    private readonly TaskCompletionSource<int?> _pid = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<string>? _lines;

    private OutputPump(Channel<string>? lines) => _lines = lines;

    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>The remote shell's pid (= the command's process group), once its marker line arrived; null if it never did.</summary>
    public Task<int?> Pid => _pid.Task;

    public ChannelReader<string>? Lines => _lines?.Reader;

    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public static OutputPump Start(Stream stream, bool lookForPid, bool toLines)
    {
        var pump = new OutputPump(toLines ? Channel.CreateBounded<string>(new BoundedChannelOptions(10_000) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait }) : null);
        pump.Completion = Task.Factory.StartNew(() => pump.Run(stream, lookForPid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return pump;
    }

    private void Run(Stream stream, bool lookForPid)
    {
        try
        {
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
            if (lookForPid)
            {
                ReadPidLine(reader);
            }

            if (_lines is not null)
            {
                while (reader.ReadLine() is { } line)
                {
                    // Backpressure: a slow reader slows the remote command instead of growing memory without bound.
                    _lines.Writer.WriteAsync(line).AsTask().GetAwaiter().GetResult();
                }
            }
            else
            {
                // Buffered output is kept exactly as written (carriage returns and all).
                var buffer = new char[4096];
                int read;
                while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
                {
                    lock (_text)
                    {
                        _text.Append(buffer, 0, read);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or ChannelClosedException)
        {
            // The channel was torn down; what was read is what there is.
        }
        finally
        {
            _pid.TrySetResult(null);
            _lines?.Writer.TryComplete();
        }
    }

    /// <summary>Reads the first line; if it is the pid marker it is consumed, otherwise it is kept as output.</summary>
    private void ReadPidLine(StreamReader reader)
    {
        var first = new StringBuilder();
        int next;
        while ((next = reader.Read()) >= 0 && next != '\n')
        {
            first.Append((char)next);
        }

        var line = first.ToString();
        if (line.StartsWith(Shell.ShellCommand.PidMarker, StringComparison.Ordinal))
        {
            _pid.TrySetResult(int.TryParse(line.AsSpan(Shell.ShellCommand.PidMarker.Length), out var pid) ? pid : null);
            return;
        }

        _pid.TrySetResult(null);
        lock (_text)
        {
            _text.Append(line);
            if (next == '\n')
            {
                _text.Append('\n');
            }
        }
    }

    /// <summary>Stops a line consumer early (the enumeration ended): unblocks a pump waiting on a full channel.</summary>
    public void Abandon() => _lines?.Writer.TryComplete();
}
