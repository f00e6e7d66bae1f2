using System.Text;
using System.Threading.Channels;

namespace SparkControl.Core.Remote;

/// <summary>
/// Reads one of a command's output streams on its own thread (SSH.NET's streams block on read) until the channel
/// closes: into a buffer, line by line into a channel, and picking out the pid marker the remote shell writes first.
/// Bounded both ways: a buffer holds at most its limit (past it the pump reports <see cref="Overflow"/> and discards
/// the rest), and a line without an end is cut at <see cref="MaxLineChars"/>.
/// </summary>
internal sealed class OutputPump
{
    /// <summary>The longest line handed on; a log line longer than this is cut (and says so).</summary>
    public const int MaxLineChars = 16 * 1024;

    private static readonly string CutNote = string.Create(System.Globalization.CultureInfo.InvariantCulture, $" … [line cut at {MaxLineChars:N0} characters]");

    private readonly StringBuilder _text = new();
    private readonly TaskCompletionSource<int?> _pid = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _overflow = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<string>? _lines;
    private readonly long _maxChars;
    private bool _afterCarriageReturn;

    private OutputPump(Channel<string>? lines, long maxChars)
    {
        _lines = lines;
        _maxChars = maxChars;
    }

    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Completes when the buffered output passed its limit; what came after is not kept.</summary>
    public Task Overflow => _overflow.Task;

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

    public static OutputPump Start(Stream stream, bool lookForPid, bool toLines, long maxChars)
    {
        var pump = new OutputPump(toLines ? Channel.CreateBounded<string>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait }) : null, maxChars);
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
                while (ReadBoundedLine(reader) is { } line)
                {
                    // Backpressure: a slow reader slows the remote command instead of growing memory without bound.
                    _lines.Writer.WriteAsync(line).AsTask().GetAwaiter().GetResult();
                }
            }
            else
            {
                // Buffered output is kept exactly as written (carriage returns and all), up to the limit.
                var buffer = new char[4096];
                int read;
                while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
                {
                    Keep(buffer.AsSpan(0, read));
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

    private void Keep(ReadOnlySpan<char> text)
    {
        lock (_text)
        {
            var room = _maxChars - _text.Length;
            if (room >= text.Length)
            {
                _text.Append(text);
                return;
            }

            _text.Append(text[..(int)Math.Max(0, room)]);
        }

        _overflow.TrySetResult();
    }

    /// <summary>
    /// A line as <see cref="StreamReader.ReadLine"/> splits them (at \n, \r or \r\n), of at most
    /// <see cref="MaxLineChars"/>: the rest of a longer one is skipped to its end.
    /// </summary>
    private string? ReadBoundedLine(StreamReader reader)
    {
        var line = new StringBuilder();
        var cut = false;
        int next;
        while ((next = reader.Read()) >= 0)
        {
            if (next == '\n' && _afterCarriageReturn && line.Length == 0 && !cut)
            {
                // The \n of a \r\n whose \r ended the last line.
                _afterCarriageReturn = false;
                continue;
            }

            _afterCarriageReturn = next == '\r';
            if (next is '\n' or '\r')
            {
                break;
            }

            if (line.Length < MaxLineChars)
            {
                line.Append((char)next);
            }
            else
            {
                cut = true;
            }
        }

        if (next < 0 && line.Length == 0 && !cut)
        {
            return null;
        }

        return cut ? line.Append(CutNote).ToString() : line.ToString();
    }

    /// <summary>Reads the first line; if it is the pid marker it is consumed, otherwise it is kept as output.</summary>
    private void ReadPidLine(StreamReader reader)
    {
        var first = new StringBuilder();
        int next;
        while ((next = reader.Read()) >= 0 && next != '\n')
        {
            if (first.Length < MaxLineChars)
            {
                first.Append((char)next);
            }
        }

        var line = first.ToString();
        if (line.StartsWith(Shell.ShellCommand.PidMarker, StringComparison.Ordinal))
        {
            _pid.TrySetResult(int.TryParse(line.AsSpan(Shell.ShellCommand.PidMarker.Length), out var pid) ? pid : null);
            return;
        }

        _pid.TrySetResult(null);
        Keep(line);
        if (next == '\n')
        {
            Keep("\n");
        }
    }

    /// <summary>Stops a line consumer early (the enumeration ended): unblocks a pump waiting on a full channel.</summary>
    public void Abandon() => _lines?.Writer.TryComplete();
}
