using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SparkControl.Sim.Audio;

/// <summary>
/// The OpenAI audio endpoints of the simulated workers: transcription and translation in the shapes parakeet servers
/// and OpenAI answer (json, text, srt, vtt, verbose_json with word timestamps, audio.md §2), and speech made by
/// espeak-ng (wav, pcm at 24 kHz, flac).
/// </summary>
public static class SimAudioEndpoints
{
    public static void MapAsr(IEndpointRouteBuilder app, ISimTranscriber transcriber, string modelName)
    {
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = modelName, @object = "model", owned_by = "sim" } } }));
        app.MapPost("/v1/audio/transcriptions", (Delegate)((HttpContext context) => TranscribeAsync(context, transcriber, "transcribe")));
        app.MapPost("/v1/audio/translations", (Delegate)((HttpContext context) => TranscribeAsync(context, transcriber, "translate")));
    }

    public static void MapTts(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/audio/voices", () => Results.Json(new { voices = new[] { "af_heart", "am_michael" } }));
        app.MapPost("/v1/audio/speech", (Delegate)SpeakAsync);
    }

    private static async Task<IResult> TranscribeAsync(HttpContext context, ISimTranscriber transcriber, string task)
    {
        if (!context.Request.HasFormContentType)
        {
            return Results.Json(new { detail = "multipart/form-data expected" }, statusCode: 400);
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        if (form.Files.GetFile("file") is not { } file)
        {
            return Results.Json(new { detail = "file is required" }, statusCode: 400);
        }

        var path = Path.GetTempFileName();
        try
        {
            await using (var target = File.Create(path))
            {
                await file.CopyToAsync(target, context.RequestAborted).ConfigureAwait(false);
            }

            var transcript = await transcriber.TranscribeAsync(path, form["prompt"].FirstOrDefault(), context.RequestAborted).ConfigureAwait(false);
            return Format(transcript, form["response_format"].FirstOrDefault() ?? "json", [.. form["timestamp_granularities[]"].Concat(form["timestamp_granularities"]).OfType<string>()], task);
        }
        catch (InvalidDataException ex)
        {
            return Results.Json(new { detail = ex.Message }, statusCode: 400);
        }
        catch (EngineMissingException ex)
        {
            return Results.Json(new { detail = ex.Message }, statusCode: 503);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static IResult Format(SimTranscript transcript, string format, IReadOnlyList<string> granularities, string task) => format switch
    {
        "text" => Results.Text(transcript.Text + "\n", "text/plain", Encoding.UTF8),
        "srt" => Results.Text($"1\n{Stamp(0, ',')} --> {Stamp(transcript.Duration, ',')}\n{transcript.Text}\n\n", "text/plain", Encoding.UTF8),
        "vtt" => Results.Text($"WEBVTT\n\n{Stamp(0, '.')} --> {Stamp(transcript.Duration, '.')}\n{transcript.Text}\n\n", "text/vtt", Encoding.UTF8),
        "verbose_json" => Results.Json(Verbose(transcript, granularities, task)),
        _ => Results.Json(new { text = transcript.Text }),
    };

    private static Dictionary<string, object> Verbose(SimTranscript transcript, IReadOnlyList<string> granularities, string task)
    {
        var body = new Dictionary<string, object>
        {
            ["task"] = task,
            ["language"] = "english",
            ["duration"] = transcript.Duration,
            ["text"] = transcript.Text,
        };
        if (granularities.Count == 0 || granularities.Contains("segment"))
        {
            var end = transcript.Words.Count > 0 ? transcript.Words[^1].End : transcript.Duration;
            body["segments"] = new[]
            {
                new { id = 0, seek = 0, start = transcript.Words.Count > 0 ? transcript.Words[0].Start : 0, end, text = " " + transcript.Text, tokens = Array.Empty<int>(),
                    temperature = 0.0, avg_logprob = -0.2, compression_ratio = 1.0, no_speech_prob = 0.01 },
            };
        }

        if (granularities.Contains("word"))
        {
            body["words"] = transcript.Words.Select(w => new { word = w.Word, start = w.Start, end = w.End }).ToArray();
        }

        return body;
    }

    private static string Stamp(double seconds, char separator)
    {
        var time = TimeSpan.FromSeconds(seconds);
        return string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours:00}:{time.Minutes:00}:{time.Seconds:00}{separator}{time.Milliseconds:000}");
    }

    private sealed record SpeechRequest(string? Model, string? Input, string? Voice, string? Response_format, double? Speed);

    /// <summary>espeak-ng reads the text from stdin (never an argument: text starting with '-' would be an option).</summary>
    private static async Task<IResult> SpeakAsync(HttpContext context)
    {
        var request = await context.Request.ReadFromJsonAsync<SpeechRequest>(context.RequestAborted).ConfigureAwait(false);
        if (request?.Input is not { Length: > 0 } input)
        {
            return Results.Json(new { detail = "input is required" }, statusCode: 400);
        }

        var format = request.Response_format ?? "mp3";
        if (format is not ("wav" or "pcm" or "flac"))
        {
            return Results.Json(new { detail = $"the simulated TTS speaks wav, pcm and flac, not {format}" }, statusCode: 400);
        }

        if (!SimProcess.Exists("espeak-ng") || !SimProcess.Exists("sox"))
        {
            return Results.Json(new { detail = "espeak-ng and sox are not installed on this machine" }, statusCode: 503);
        }

        var work = Directory.CreateTempSubdirectory("sc-tts-");
        try
        {
            var wav = Path.Combine(work.FullName, "speech.wav");
            var words = (int)Math.Round(175 * Math.Clamp(request.Speed ?? 1, 0.25, 4));
            var spoken = await SimProcess.RunAsync("espeak-ng", ["-v", "en-us", "-s", words.ToString(CultureInfo.InvariantCulture), "-w", wav, "--stdin"], input, context.RequestAborted).ConfigureAwait(false);
            if (spoken.ExitCode != 0)
            {
                return Results.Json(new { detail = spoken.Error.Trim() }, statusCode: 500);
            }

            if (format == "wav")
            {
                return Results.Bytes(await File.ReadAllBytesAsync(wav, context.RequestAborted).ConfigureAwait(false), "audio/wav");
            }

            // OpenAI's pcm is raw 24 kHz 16-bit mono little-endian; flac keeps espeak-ng's 22,050 Hz.
            string[] convert = format == "pcm"
                ? ["-V1", wav, "-r", "24000", "-b", "16", "-e", "signed-integer", "-c", "1", "-t", "raw", "-"]
                : ["-V1", wav, "-t", "flac", "-"];
            var audio = await SimProcess.RunAsync("sox", convert, null, context.RequestAborted).ConfigureAwait(false);
            return Results.Bytes(audio.Output, format == "pcm" ? "audio/pcm" : "audio/flac");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
