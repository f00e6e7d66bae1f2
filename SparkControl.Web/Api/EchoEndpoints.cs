using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Validation;
using SparkControl.Core.Audio.Signal;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// <c>POST /api/audio/echo-cancel</c>: multipart form with <c>file</c> (a stereo 16-bit WAV: channel 0 microphone,
/// channel 1 far end) and optional <c>passes</c> (1 or 2), <c>tailMs</c> and <c>residualSuppression</c> (true or
/// false); answers the cleaned microphone channel as a mono 16-bit WAV of the same rate and length, with
/// <c>X-Echo-Delay-Ms</c> (at the start of the call), <c>X-Echo-Erle-Db</c> (the canceller's own estimate),
/// <c>X-Echo-Drift-Ppm</c> (how much faster the loudspeaker's clock ran than the recorder's, when the canceller followed
/// drift; 0 otherwise), <c>X-Echo-Loudspeaker-Curve-Db</c> (when the loudspeaker was found to clip or compress and the
/// canceller modelled it: how many dB less of the echo the room alone left unexplained; 0 otherwise), <c>X-Echo-Room-Ms</c> (how much of
/// the tail the filter used: less than the tail when the room rang out sooner; 0 with no echo),
/// <c>X-Echo-Path-Change-S</c> (where the echo path was found to change, seconds into the call; 0 when it held still,
/// and when no change was looked for: one pass, or a call under 10 s),
/// <c>X-Echo-Residual-Suppressed</c> and <c>X-Echo-Detected</c>. With no echo found, the
/// microphone comes back unchanged, delay, ERLE and drift 0.
/// </summary>
public static class EchoEndpoints
{
    public const string DelayHeader = "X-Echo-Delay-Ms";
    public const string ErleHeader = "X-Echo-Erle-Db";
    public const string DetectedHeader = "X-Echo-Detected";
    public const string DriftHeader = "X-Echo-Drift-Ppm";
    public const string ResidualSuppressedHeader = "X-Echo-Residual-Suppressed";
    public const string LoudspeakerCurveHeader = "X-Echo-Loudspeaker-Curve-Db";
    public const string RoomHeader = "X-Echo-Room-Ms";
    public const string PathChangeHeader = "X-Echo-Path-Change-S";

    /// <summary>Multipart framing allowed on top of the file itself.</summary>
    private const int FormOverhead = 64 * 1024;

    public static IEndpointRouteBuilder MapEcho(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/audio").WithTags("Audio");
        // A machine API for uploads (curl, scripts); there is no cookie session to forge.
        group.MapPost("/echo-cancel", CancelEcho).DisableAntiforgery().RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        return endpoints;
    }

    public static async Task<FileContentHttpResult> CancelEcho(HttpContext context, IOptions<EchoOptions> options, EchoQueue queue, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        // A place in the queue before the upload is read: a full queue costs the caller a 503, not the panel memory.
        using var ticket = queue.Enter(limits.MaxQueued);
        var request = context.Request;
        var maxBody = (long)limits.MaxUploadBytes + FormOverhead;
        if (request.ContentLength > maxBody)
        {
            throw Invalid("file", $"the upload is {request.ContentLength:N0} bytes; the limit is {limits.MaxUploadBytes:N0} bytes");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = maxBody;
        }

        if (!request.HasFormContentType)
        {
            throw Invalid("file", "send multipart/form-data with the stereo WAV in a field named 'file'");
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limits.MaxUploadBytes, ValueCountLimit = 16 }, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidDataException || (ex is BadHttpRequestException bad && bad.StatusCode == StatusCodes.Status413PayloadTooLarge))
        {
            throw Invalid("file", $"the upload could not be read or is over the limit of {limits.MaxUploadBytes:N0} bytes: {ex.Message}");
        }

        var file = form.Files.GetFile("file") ?? throw Invalid("file", "no file: send the stereo WAV in a form field named 'file'");
        var settings = EchoCallRequest.Settings(form["passes"], form["tailMs"], form["residualSuppression"], limits);
        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, cancellationToken);
        }

        var call = EchoCallRequest.ReadCall(bytes, limits);
        var result = await ticket.RunAsync(() => EchoCanceller.Cancel(call, settings), cancellationToken);

        var headers = context.Response.Headers;
        headers[DetectedHeader] = result.Delay.HasEcho ? "true" : "false";
        headers[DelayHeader] = result.Delay.Delay.TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture);
        headers[ErleHeader] = (result.ErleEstimateDb ?? 0).ToString("0.0", CultureInfo.InvariantCulture);
        headers[DriftHeader] = (result.DriftPpm ?? 0).ToString("0.0", CultureInfo.InvariantCulture);
        headers[RoomHeader] = ((result.RoomPartitions ?? 0) * result.BlockSize * 1000 / result.SampleRate).ToString(CultureInfo.InvariantCulture);
        headers[PathChangeHeader] = (result.PathChange?.TotalSeconds ?? 0).ToString("0.0", CultureInfo.InvariantCulture);
        headers[LoudspeakerCurveHeader] = (result.LoudspeakerCurveDb ?? 0).ToString("0.0", CultureInfo.InvariantCulture);
        headers[ResidualSuppressedHeader] = result.ResidualSuppressed ? "true" : "false";
        return TypedResults.File(WavFile.Write16(call.SampleRate, result.Output), "audio/wav", "echo-cancelled.wav");
    }

    private static ValidationFailedException Invalid(string field, string message) => new([new FieldError(field, message)]);
}
