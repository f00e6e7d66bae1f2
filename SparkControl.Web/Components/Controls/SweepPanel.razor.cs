using System.Globalization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using MudBlazor;
using SparkControl.Core.Audio.Sweep;
using SparkControl.Core.Gateway;
using SparkControl.Core.Validation;
using SparkControl.Web.Components.Dialogs;
using SparkControl.Web.Security;

namespace SparkControl.Web.Components.Controls;

/// <summary>
/// Starts a concurrency sweep of a transcription worker and follows it live (every browser sees the same runs):
/// progress, the figures of each step as a table and two charts, the knee, and the offer to write it as the worker's cap.
/// </summary>
public sealed partial class SweepPanel : IDisposable
{
    private readonly CancellationTokenSource _closed = new();
    private readonly List<SweepFile> _files = [];
    private string? _worker;
    private string? _maxConcurrency = new SweepSettings().MaxConcurrency.ToString(CultureInfo.InvariantCulture);
    private string? _requestsPerStep = new SweepSettings().RequestsPerStep.ToString(CultureInfo.InvariantCulture);
    private string? _p95Bound = new SweepSettings().P95Bound.TotalSeconds.ToString(CultureInfo.InvariantCulture);
    private string? _error;
    private long? _shown;

    [Inject]
    public required AudioSweeps Sweeps { get; init; }

    [Inject]
    public required Caller Caller { get; init; }

    [Inject]
    public required IDialogService Dialogs { get; init; }

    private SweepBoard Board { get; set; } = new([]);

    /// <summary>The run chosen in the list, else the newest.</summary>
    private SweepRun? Shown => (_shown is { } id ? Board.Runs.FirstOrDefault(r => r.Id == id) : null) ?? Board.Runs.FirstOrDefault();

    /// <summary>What is wrong with the typed settings, by the API's rules (empty is the default, as in the API).</summary>
    private IReadOnlyList<FieldError> Errors => ReadSettings(out _);

    private IReadOnlyList<FieldError> ReadSettings(out SweepSettings settings)
    {
        var errors = new List<FieldError>();
        errors.AddIf("maxConcurrency", Validators.WholeNumber(_maxConcurrency, out var maxConcurrency, "maxConcurrency"));
        errors.AddIf("requestsPerStep", Validators.WholeNumber(_requestsPerStep, out var requestsPerStep, "requestsPerStep"));
        errors.AddIf("p95BoundSeconds", Validators.Number(_p95Bound, out var p95Bound, "p95BoundSeconds"));
        settings = SweepSettings.From(maxConcurrency, requestsPerStep, p95Bound);
        errors.AddRange(settings.Validate().Where(e => errors.All(known => known.Field != e.Field)));
        return errors;
    }

    protected override void OnInitialized()
    {
        Board = Sweeps.Board.Value;
        _worker = Sweeps.Workers().FirstOrDefault()?.Key;
        _ = FollowAsync();
    }

    private async Task FollowAsync()
    {
        try
        {
            await foreach (var board in Sweeps.WatchAsync(_closed.Token))
            {
                Board = board.Value;
                await InvokeAsync(StateHasChanged);
            }
        }
        catch (OperationCanceledException)
        {
            // The page closed.
        }
    }

    /// <summary>The chosen files replace the last choice; none (the chips cleared) is the shipped speech again.</summary>
    private async Task OnFilesAsync(IReadOnlyList<IBrowserFile>? files)
    {
        _error = null;
        _files.Clear();
        foreach (var file in files ?? [])
        {
            if (_files.Count == Api.AudioSweepEndpoints.MaxFiles || file.Size > Api.AudioSweepEndpoints.MaxFileBytes)
            {
                _error = $"At most {Api.AudioSweepEndpoints.MaxFiles} files of {Api.AudioSweepEndpoints.MaxFileBytes:N0} bytes each; {file.Name} is past that.";
                _files.Clear();
                return;
            }

            var bytes = new byte[file.Size];
            await using (var stream = file.OpenReadStream(Api.AudioSweepEndpoints.MaxFileBytes))
            {
                await stream.ReadExactlyAsync(bytes);
            }

            if (AudioFormat.NotAudio(bytes, file.Name) is { } notAudio)
            {
                _error = notAudio;
                _files.Clear();
                return;
            }

            _files.Add(new SweepFile(file.Name, bytes));
        }
    }

    private Task StartAsync()
    {
        Caller.Demand(Core.Access.AccessRole.Operator);
        // A click can arrive before the re-render that disabled Start: settings that cannot be read start nothing.
        if (ReadSettings(out var settings).Count > 0)
        {
            return Task.CompletedTask;
        }

        _error = null;
        var worker = Sweeps.Workers().FirstOrDefault(w => w.Key == _worker);
        try
        {
            var run = Sweeps.Start(worker?.Spark ?? string.Empty, worker?.Service ?? _worker ?? string.Empty, settings, [.. _files], Caller.AuditActor);
            _shown = run.Id;
            Board = Sweeps.Board.Value;
        }
        catch (Exception ex) when (ex is ValidationFailedException or KeyNotFoundException or SweepConflictException)
        {
            _error = ex is ValidationFailedException invalid ? string.Join("; ", invalid.Errors.Select(x => x.Message)) : ex.Message;
        }

        return Task.CompletedTask;
    }

    private void Cancel(long id)
    {
        Caller.Demand(Core.Access.AccessRole.Operator);
        Sweeps.Cancel(id, Caller.AuditActor);
    }

    private async Task ApplyAsync(SweepRun run, int knee)
    {
        if (!await ConfirmDialog.AskAsync(Dialogs, $"Set {run.Key}'s cap to {knee}?",
                $"services.yaml gets maxInFlight: {knee} and measuredKnee: {knee} for {run.Key}; the gateway sends it at most {knee} requests at once from now on. The change is written to the audit log.",
                "Write", Color.Secondary))
        {
            return;
        }

        Caller.Demand(Core.Access.AccessRole.Admin);
        try
        {
            await Sweeps.ApplyAsync(run.Id, Caller.AuditActor, CancellationToken.None);
        }
        catch (Exception ex) when (ex is SweepConflictException or KeyNotFoundException or ValidationFailedException or Core.Storage.DataDirectoryException)
        {
            _error = ex is ValidationFailedException invalid ? string.Join("; ", invalid.Errors.Select(x => x.Message)) : ex.Message;
        }
    }

    private static List<ChartSeries<double>> Series(SweepRun run, Func<SweepStep, double> value, string name) =>
        [new ChartSeries<double> { Name = name, Data = new ChartData<double>([.. run.Steps.Select(s => Math.Round(value(s), 3))]) }];

    /// <summary>About five ticks up to the highest value, at a round whole step (the chart's default step of 20 flattens small figures).</summary>
    private static LineChartOptions Options(SweepRun run, Func<SweepStep, double> value)
    {
        var highest = run.Steps.Select(value).DefaultIfEmpty(1).Max();
        var raw = Math.Max(highest, 0.01) / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = Math.Max(1, (int)new[] { 1, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw));
        return new LineChartOptions { ShowLegend = false, YAxisTicks = step, YAxisSuggestedMax = step * 5, ChartPalette = ["#43a047"] };
    }

    private static string? Sentence(string? text) => string.IsNullOrEmpty(text) ? text : char.ToUpperInvariant(text[0]) + text[1..] + ".";

    private static string[] Labels(SweepRun run) => [.. run.Steps.Select(s => s.Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public void Dispose()
    {
        _closed.Cancel();
        _closed.Dispose();
    }
}
