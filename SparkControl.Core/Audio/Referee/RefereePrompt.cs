using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparkControl.Core.Audio.LabelMerge;

namespace SparkControl.Core.Audio.Referee;

/// <summary>
/// Builds the chat-completions request for one batch of disputes (audio.md §4): deterministic sampling, a JSON answer,
/// the candidate speakers, and only the disputed utterances with their context in DiarizationLM's <c>&lt;spk:Name&gt;</c>
/// style, so no more of a private conversation leaves the panel than the decision needs. The model name is not part of
/// the body: the transport adds it (<see cref="WithModel"/>), so one set of disputes hashes the same on any model.
/// </summary>
public static class RefereePrompt
{
    /// <summary>Room for one decision's JSON and a short reason.</summary>
    public const int TokensPerDecision = 64;

    public const string SystemPrompt =
        "You referee speaker labels in a transcript made by speech recognition and speaker diarization. " +
        "Some utterances are disputed: the machine is unsure who said them. For each disputed id, decide who said it, " +
        "choosing only among the candidate speakers listed. You only choose speakers: never change, add or remove words. " +
        "The other utterances are context and are not to be decided. When unsure, keep the machine's choice. " +
        "Answer with one JSON object and nothing else, one decision per disputed id: " +
        "{\"decisions\":[{\"id\":\"u17\",\"speaker\":\"<a candidate speaker>\",\"confidence\":0.0-1.0,\"reason\":\"<a few words>\"}]}";

    /// <summary>Keeps names and text readable in the body (any JSON reader accepts both forms).</summary>
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The id of an utterance in prompts and answers: <c>u</c> and its index in the transcript.</summary>
    public static string IdOf(int utterance) => "u" + utterance.ToString(CultureInfo.InvariantCulture);

    /// <summary>The request body (without <c>model</c>) asking about <paramref name="batch"/>.</summary>
    public static string BuildRequest(LabelMergeResult transcript, IReadOnlyList<string> candidates, IReadOnlyList<DisputedUtterance> batch, RefereeOptions options)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = SystemPrompt },
                new JsonObject { ["role"] = "user", ["content"] = UserMessage(transcript, candidates, batch, options.ContextUtterances) }),
            ["temperature"] = 0,
            ["seed"] = 0,
            ["max_tokens"] = TokensPerDecision * Math.Max(1, batch.Count),
            ["response_format"] = new JsonObject { ["type"] = "json_object" },
        };
        return body.ToJsonString(Relaxed);
    }

    /// <summary>
    /// The candidates, the excerpt (each disputed utterance with <paramref name="context"/> utterances on each side,
    /// "…" where the excerpt skips some), and the machine's choice and confidence for every disputed id.
    /// </summary>
    public static string UserMessage(LabelMergeResult transcript, IReadOnlyList<string> candidates, IReadOnlyList<DisputedUtterance> batch, int context)
    {
        var asked = batch.ToDictionary(d => d.Utterance);
        var text = new StringBuilder();
        text.Append("Candidate speakers: ").Append(JsonSerializer.Serialize(candidates, Relaxed)).Append("\n\n");
        text.Append("Transcript excerpt, one utterance a line with its current speaker; disputed utterances start with their id:\n");
        var previous = -1;
        foreach (var k in Excerpt(batch, transcript.Utterances.Count, context))
        {
            if (previous >= 0 && k != previous + 1)
            {
                text.Append("…\n");
            }

            var u = transcript.Utterances[k];
            if (asked.ContainsKey(k))
            {
                text.Append('[').Append(IdOf(k)).Append("] ");
            }

            text.Append("<spk:").Append(u.Speaker ?? "?").Append("> ").Append(u.Text).Append('\n');
            previous = k;
        }

        text.Append("\nDisputed:\n");
        foreach (var d in batch)
        {
            text.Append(CultureInfo.InvariantCulture, $"{d.Id}: the machine chose {JsonSerializer.Serialize(d.Speaker, Relaxed)} with confidence {d.Confidence:0.00} ({d.Trigger})\n");
        }

        return text.ToString();
    }

    /// <summary>The utterance indices the prompt shows, ascending: every disputed one and its context.</summary>
    public static SortedSet<int> Excerpt(IReadOnlyList<DisputedUtterance> batch, int utterances, int context)
    {
        var shown = new SortedSet<int>();
        foreach (var d in batch)
        {
            for (var k = Math.Max(0, d.Utterance - context); k <= Math.Min(utterances - 1, d.Utterance + context); k++)
            {
                shown.Add(k);
            }
        }

        return shown;
    }

    /// <summary>The body with <c>model</c> set first, as OpenAI-compatible servers expect it.</summary>
    public static string WithModel(string requestJson, string model)
    {
        var body = JsonNode.Parse(requestJson)?.AsObject() ?? throw new ArgumentException("The request is not a JSON object.", nameof(requestJson));
        var withModel = new JsonObject { ["model"] = model };
        foreach (var (name, value) in body.ToList())
        {
            if (name != "model")
            {
                body.Remove(name);
                withModel[name] = value;
            }
        }

        return withModel.ToJsonString(Relaxed);
    }

    /// <summary>The audit hash of a request: SHA-256 of its UTF-8 body, lower-case hex.</summary>
    public static string Hash(string requestJson) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestJson)));
}
