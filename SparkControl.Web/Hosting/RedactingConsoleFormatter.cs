using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using SparkControl.Core.Diagnostics;

namespace SparkControl.Web.Hosting;

/// <summary>
/// The console log in the simple format (<c>info: Category[id]</c>, then the message), with every message and exception
/// passed through <see cref="LogRedactor"/>: an exception that quotes a Spark's output, or a secret in a command's error,
/// is masked here whatever code logged it.
/// </summary>
public sealed class RedactingConsoleFormatter(IOptionsMonitor<ConsoleFormatterOptions> options) : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "sparkcontrol";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        if (options.CurrentValue.TimestampFormat is { } format)
        {
            textWriter.Write(DateTimeOffset.UtcNow.ToString(format, System.Globalization.CultureInfo.InvariantCulture));
        }

        textWriter.Write(logEntry.LogLevel switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            LogLevel.Critical => "crit",
            _ => "none",
        });
        textWriter.Write(": ");
        textWriter.Write(logEntry.Category);
        textWriter.Write('[');
        textWriter.Write(logEntry.EventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        textWriter.WriteLine(']');
        foreach (var text in new[] { message, logEntry.Exception?.ToString() })
        {
            if (!string.IsNullOrEmpty(text))
            {
                foreach (var line in text.Split('\n'))
                {
                    textWriter.Write("      ");
                    textWriter.WriteLine(LogRedactor.Redact(line.TrimEnd('\r')));
                }
            }
        }
    }
}
