using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using SparkControl.Core.Audio;
using SparkControl.Core.Validation;
using SparkControl.Core.Audio.LabelMerge;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// <c>POST /api/audio/label-merge</c>: speakers for every word of a transcript, or the merged transcript of a two-channel
/// call, usable on its own (see <see cref="LabelMergeRequestReader"/> for the body). Answers JSON, or with
/// <c>?format=srt|vtt|text</c> subtitles or plain text.
/// </summary>
public static class AudioEndpoints
{
    public sealed record WordView(
        string Word,
        double? Start,
        double? End,
        string? Speaker,
        double Confidence,
        string? Reason,
        string Method,
        double Margin,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Channel,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string[]? Repairs,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Dropped);

    public sealed record UtteranceView(
        string? Speaker,
        double Start,
        double End,
        string Text,
        bool Overlap,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Channel);

    /// <summary>A channel-1 word, with its position in the response's <c>words</c>.</summary>
    public sealed record EchoSourceView(int Index, string Word, double Start, double End);

    /// <summary>A channel-0 word removed as an echo (<c>index</c> into the response's <c>words</c>) and the remote word it repeated.</summary>
    public sealed record RemovedEchoView(int Index, string Word, double Start, double End, double Lag, double Similarity, EchoSourceView EchoOf);

    /// <summary>
    /// The echo pass of a two-channel call: <c>delay</c> in seconds (null: no echo found), <c>delaySource</c>
    /// (<c>words</c> or <c>none</c>), <c>matchedWords</c> (exact word matches that voted for the delay), and the removed words.
    /// </summary>
    public sealed record EchoView(double? Delay, string DelaySource, int MatchedWords, RemovedEchoView[] Removed);

    public sealed record LabelMergeView(
        WordView[] Words,
        UtteranceView[] Utterances,
        int DroppedSegments,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] EchoView? Echo);

    public static IEndpointRouteBuilder MapAudio(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/audio").WithTags("Audio");
        group.MapPost("/label-merge", LabelMergeAsync).RequireAuthorization(AccessPolicies.Operator).WithMetadata(NotAudited.Instance);
        return endpoints;
    }

    public static async Task<Results<Ok<LabelMergeView>, ContentHttpResult, ProblemHttpResult>> LabelMergeAsync(
        HttpContext context, string? format, IOptions<AudioOptions> options, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        format = string.IsNullOrEmpty(format) ? "json" : format.ToLowerInvariant();
        if (format != "json" && !TranscriptWriter.TextFormats.Contains(format))
        {
            throw new ValidationFailedException([new FieldError("format", $"format must be json, srt, vtt or text, not '{Truncate(format)}'.")]);
        }

        var body = await ReadBodyAsync(context, settings.MaxRequestBytes, cancellationToken);
        if (body is null)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "The request is too large",
                detail: $"A label-merge request may be at most {settings.MaxRequestBytes:N0} bytes (setting Audio:MaxRequestBytes).");
        }

        using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        var job = LabelMergeRequestReader.Read(document.RootElement, settings);
        var result = job.Run();
        return TranscriptWriter.Write(result, format) is { } written
            ? TypedResults.Text(written.Text, written.ContentType, Encoding.UTF8)
            : TypedResults.Ok(View(result, isCall: job.Channels is not null));
    }

    public static LabelMergeView View(LabelMergeResult result, bool isCall) => new(
        [.. result.Words.Select(w => new WordView(
            w.Text, w.Start, w.End, w.Speaker, w.Confidence, w.Reason, MethodName(w.Method), w.Margin,
            isCall ? w.Channel : null, RepairNames(w.Repairs), w.Dropped))],
        [.. result.Utterances.Select(u => new UtteranceView(u.Speaker, u.Start, u.End, u.Text, u.Overlap, isCall ? u.Channel : null))],
        result.DroppedSegments,
        result.Echo is { } echo ? EchoReport(echo, remoteOffset: result.Words.Count(w => w.Channel == 0)) : null);

    /// <param name="remoteOffset">Where channel 1 starts in the response's words (a call lists channel 0 first).</param>
    private static EchoView EchoReport(CallEchoReport echo, int remoteOffset) => new(
        echo.Delay,
        echo.DelaySource.ToString().ToLowerInvariant(),
        echo.MatchedWords,
        [.. echo.Removed.Select(w => new RemovedEchoView(
            w.LocalIndex, w.Text, w.Start, w.End, w.Lag, w.Similarity,
            new EchoSourceView(remoteOffset + w.RemoteIndex, w.RemoteText, w.RemoteStart, w.RemoteEnd)))]);

    public static string MethodName(AssignMethod method) => method.ToString().ToLowerInvariant();

    public static string[]? RepairNames(WordRepairs repairs) => repairs == WordRepairs.None
        ? null
        : [.. Enum.GetValues<WordRepairs>().Where(r => r != WordRepairs.None && repairs.HasFlag(r)).Select(r => KebabCase(r.ToString()))];

    private static string KebabCase(string name)
    {
        var text = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append('-');
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/> (told by Content-Length or by counting).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, int limit, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Let the server stop a longer chunked body itself, and allow one larger than its default when configured so.
            sizeFeature.MaxRequestBodySize = limit;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }

        return buffer.ToArray();
    }

    private static string Truncate(string text) => text.Length <= 20 ? text : $"{text[..20]}…";
}
