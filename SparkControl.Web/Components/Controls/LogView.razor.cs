using Microsoft.AspNetCore.Components;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Core.Diagnostics;

namespace SparkControl.Web.Components.Controls;

/// <summary>A container's log, followed live over SSH (<c>docker logs -f</c>), redacted, with pause, filter and download.</summary>
public partial class LogView
{
    public const int MaxLines = 2000;

    private readonly List<string> _lines = [];
    private readonly Queue<string> _held = new();
    private long _skipped;
    private string? _filter;
    private bool _paused;
    private bool _following;
    private string? _error;

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Parameter, EditorRequired]
    public string Spark { get; set; } = string.Empty;

    [Parameter, EditorRequired]
    public string Service { get; set; } = string.Empty;

    [Parameter, EditorRequired]
    public string Container { get; set; } = string.Empty;

    private string DownloadUrl => $"/api/services/{Uri.EscapeDataString(Spark)}/{Uri.EscapeDataString(Service)}/logs?tail={LogQuery.MaxTail}";

    private string HeldNote => _skipped == 0
        ? $"{_held.Count:N0} new lines since pausing; Resume shows them."
        : $"{_held.Count + _skipped:N0} new lines since pausing; Resume shows the last {_held.Count:N0} (Download has the rest).";

    private IEnumerable<string> Visible => string.IsNullOrWhiteSpace(_filter)
        ? _lines
        : _lines.Where(l => l.Contains(_filter, StringComparison.OrdinalIgnoreCase));

    protected override void OnInitialized()
    {
        if (Fleet.Current.Find(Spark) is not { } spark)
        {
            _error = $"No Spark is named '{Spark}'.";
            return;
        }

        _following = true;
        Watch(token => Follow(spark.Host, token), line =>
        {
            if (_paused)
            {
                // A paused view keeps at most what it can show (with a line that says what was left out); a chatty
                // container cannot grow it without bound.
                _held.Enqueue(line);
                if (_held.Count > MaxLines - 1)
                {
                    _held.Dequeue();
                    _skipped++;
                }

                return;
            }

            Append(line);
        });
    }

    private async IAsyncEnumerable<string> Follow(ISparkHost host, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = host.WatchLogsAsync(Container, 200, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                string line;
                try
                {
                    if (!await lines.MoveNextAsync())
                    {
                        break;
                    }

                    line = lines.Current;
                }
                catch (Exception ex) when (LogStreamFailure.Is(ex))
                {
                    _error = LogStreamFailure.Describe(ex);
                    break;
                }

                yield return LogRedactor.Redact(line);
            }
        }
        finally
        {
            _following = false;
            await lines.DisposeAsync();
        }
    }

    private void Append(string line)
    {
        _lines.Add(line);
        if (_lines.Count > MaxLines)
        {
            _lines.RemoveRange(0, _lines.Count - MaxLines);
        }
    }

    private void TogglePause()
    {
        _paused = !_paused;
        if (!_paused)
        {
            if (_skipped > 0)
            {
                Append($"… {_skipped:N0} earlier lines arrived while paused; the download has them");
                _skipped = 0;
            }

            foreach (var line in _held)
            {
                Append(line);
            }

            _held.Clear();
        }
    }
}
