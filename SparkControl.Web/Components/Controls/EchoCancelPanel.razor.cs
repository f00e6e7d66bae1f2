using System.Globalization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Validation;
using SparkControl.Core.Audio.Signal;

namespace SparkControl.Web.Components.Controls;

/// <summary>
/// Uploads a stereo call, cancels the echo in-process (the same Core code as the API) and offers the microphone
/// channel before and after as audio players fed by data URLs, trimmed to <see cref="PreviewSeconds"/> so a long call
/// does not push megabytes through the circuit.
/// </summary>
public partial class EchoCancelPanel
{
    private const int PreviewSeconds = 60;

    private string? _passes;
    private string? _tailMs;
    private bool _residualSuppression;
    private bool _busy;
    private string? _fileName;
    private string? _error;
    private EchoCancelResult? _result;
    private string? _before;
    private string? _after;
    private bool _previewTrimmed;

    [Inject]
    public required IOptions<EchoOptions> Options { get; init; }

    [Inject]
    public required EchoQueue Queue { get; init; }

    protected override void OnInitialized()
    {
        _passes = Options.Value.Passes.ToString(CultureInfo.InvariantCulture);
        _tailMs = ((int)Options.Value.TailLength.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        _residualSuppression = Options.Value.ResidualSuppression;
    }

    /// <summary>What is wrong with the typed passes and tail, by the API's rules; a call is not taken while there is any.</summary>
    private IReadOnlyList<FieldError> Errors => EchoCallRequest.ReadSettings(_passes, _tailMs, ResidualSuppressionText, Options.Value, out _);

    private string ResidualSuppressionText => _residualSuppression ? bool.TrueString : bool.FalseString;

    private async Task OnFileAsync(IBrowserFile file)
    {
        var limits = Options.Value;
        // A file can arrive before the re-render that disabled the picker: settings that cannot be read run nothing.
        if (EchoCallRequest.ReadSettings(_passes, _tailMs, ResidualSuppressionText, limits, out var settings).Count > 0)
        {
            return;
        }

        _fileName = file.Name;
        _error = null;
        _result = null;
        if (file.Size > limits.MaxUploadBytes)
        {
            _error = $"{file.Name} is {file.Size:N0} bytes; the limit is {limits.MaxUploadBytes:N0} bytes.";
            return;
        }

        _busy = true;
        try
        {
            using var ticket = Queue.Enter(limits.MaxQueued);
            var bytes = new byte[file.Size];
            await using (var stream = file.OpenReadStream(limits.MaxUploadBytes))
            {
                await stream.ReadExactlyAsync(bytes);
            }

            var call = EchoCallRequest.ReadCall(bytes, limits);
            var result = await ticket.RunAsync(() => EchoCanceller.Cancel(call, settings), CancellationToken.None);
            var preview = Math.Min(call.Length, call.SampleRate * PreviewSeconds);
            _previewTrimmed = preview < call.Length;
            _before = DataUrl(call.Channels[0].AsSpan(0, preview), call.SampleRate);
            _after = DataUrl(result.Output.AsSpan(0, preview), call.SampleRate);
            _result = result;
        }
        catch (ValidationFailedException ex)
        {
            _error = $"{file.Name}: {string.Join("; ", ex.Errors.Select(x => x.Message))}.";
        }
        catch (IOException ex)
        {
            _error = $"{file.Name} could not be read: {ex.Message}";
        }
        catch (EchoBusyException ex)
        {
            _error = ex.Message;
        }
        finally
        {
            _busy = false;
        }
    }

    private static string DataUrl(ReadOnlySpan<float> samples, int sampleRate) =>
        $"data:audio/wav;base64,{Convert.ToBase64String(WavFile.Write16(sampleRate, samples.ToArray()))}";

    private static string Ms(TimeSpan time) => $"{time.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)} ms";

    private static int TailMs(EchoCancelResult result, int partitions) => partitions * result.BlockSize * 1000 / result.SampleRate;

    private static string PassesAndTail(EchoCancelResult result) => string.Create(CultureInfo.InvariantCulture, $"{result.Passes}, {TailMs(result, result.Partitions)} ms")
        + (result.RoomPartitions is { } room && room < result.Partitions
            ? string.Create(CultureInfo.InvariantCulture, $" (the room rang out within {TailMs(result, room)} ms; the taps past it were left out)")
            : "");

    private static string PathChange(EchoCancelResult result) => result switch
    {
        { PathChange: { } at } => $"changed at {at.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s; the room was fitted on each side apart",
        { Passes: < 2 } => "not looked for (one pass)",
        _ when result.Output.Length < EchoCanceller.ShortestForPathChange.TotalSeconds * result.SampleRate => "not looked for (a call under 10 s)",
        _ => "no change found",
    };

    private static string Seconds(int samples, int sampleRate) => $"{((double)samples / sampleRate).ToString("0.0", CultureInfo.InvariantCulture)} s";

    private static string RealTime(EchoCancelResult result) =>
        (result.Output.Length / (double)result.SampleRate / Math.Max(1e-3, result.Elapsed.TotalSeconds)).ToString("0", CultureInfo.InvariantCulture);
}
