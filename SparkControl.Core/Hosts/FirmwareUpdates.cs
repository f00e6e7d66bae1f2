using System.Text.Json;

namespace SparkControl.Core.Hosts;

/// <summary>A device with a firmware release newer than the one it runs.</summary>
public sealed record FirmwareUpdate(string Device, string? Vendor, string? CurrentVersion, string? NewVersion, string? Summary);

public static class FirmwareUpdates
{
    /// <summary>fwupdmgr's exit status for "nothing to do" (no updates, no updatable devices): an answer, not a failure.</summary>
    public const int NothingToDo = 2;

    /// <summary>
    /// The devices with pending releases from <c>fwupdmgr get-updates --json</c>. Exit 2 with any output is none
    /// pending; another non-zero exit, or output that is not fwupdmgr's JSON, throws <see cref="FormatException"/>
    /// with its last line (no daemon, no network) for the caller to show.
    /// </summary>
    public static IReadOnlyList<FirmwareUpdate> Parse(int exitCode, string stdout, string stderr)
    {
        if (exitCode == NothingToDo)
        {
            return [];
        }

        if (exitCode != 0)
        {
            throw new FormatException($"fwupdmgr get-updates failed (exit {exitCode}): {LastLine(stderr) ?? LastLine(stdout) ?? "no output"}");
        }

        if (string.IsNullOrWhiteSpace(stdout))
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(stdout);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("Devices", out var devices) || devices.ValueKind != JsonValueKind.Array)
            {
                return [];
            }

            return [.. devices.EnumerateArray().Where(d => d.ValueKind == JsonValueKind.Object).SelectMany(Pending)];
        }
        catch (JsonException ex)
        {
            throw new FormatException($"fwupdmgr get-updates printed something other than JSON: {LastLine(stdout)}", ex);
        }
    }

    /// <summary>One update per device with releases: the first release is the newest (fwupdmgr sorts them).</summary>
    private static IEnumerable<FirmwareUpdate> Pending(JsonElement device)
    {
        if (!device.TryGetProperty("Releases", out var releases) || releases.ValueKind != JsonValueKind.Array || releases.GetArrayLength() == 0)
        {
            yield break;
        }

        var newest = releases[0];
        yield return new FirmwareUpdate(
            Text(device, "Name") ?? Text(device, "DeviceId") ?? "unnamed device",
            Text(device, "Vendor"),
            Text(device, "Version"),
            Text(newest, "Version"),
            Text(newest, "Summary"));
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
}
