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
            var first = true;
            while (reader.ReadLine() is { } line)
            {
                if (first && lookForPid && line.StartsWith(Shell.ShellCommand.PidMarker, StringComparison.Ordinal))
                {
                    first = false;
                    _pid.TrySetResult(int.TryParse(line.AsSpan(Shell.ShellCommand.PidMarker.Length), out var pid) ? pid : null);
                    continue;
                }

                first = false;
                if (_lines is not null)
                {
                    // Backpressure: a slow reader slows the remote command instead of growing memory without bound.
                    _lines.Writer.WriteAsync(line).AsTask().GetAwaiter().GetResult();
                }
                else
                {
                    lock (_text)
                    {
                        _text.Append(line).Append('\n');
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

    /// <summary>Stops a line consumer early (the enumeration ended): unblocks a pump waiting on a full channel.</summary>
    public void Abandon() => _lines?.Writer.TryComplete();
}
