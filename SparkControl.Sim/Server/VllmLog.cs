using System.Globalization;

namespace SparkControl.Sim.Server;

/// <summary>Formats log lines the way vLLM prints them: <c>INFO 11-26 17:01:05 [file.py:123] message</c>.</summary>
public static class VllmLog
{
    public static string Info(TimeProvider time, string source, string message) => Line("INFO", time, source, message);

    public static string Warning(TimeProvider time, string source, string message) => Line("WARNING", time, source, message);

    public static string Error(TimeProvider time, string source, string message) => Line("ERROR", time, source, message);

    private static string Line(string level, TimeProvider time, string source, string message) =>
        $"{level} {time.GetUtcNow().ToString("MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} [{source}] {message}";
}
