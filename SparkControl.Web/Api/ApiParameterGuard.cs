using SparkControl.Core.Validation;

namespace SparkControl.Web.Api;

/// <summary>
/// No query or route value under <c>/api</c> may hold a control character. The framework binds <c>?limit=5%0A</c> to
/// 5 (its number parsing allows white space around a number, line breaks included) and hands a line break inside a text
/// value to whatever reads it; one rule here refuses both with a 400 naming the parameter, before any endpoint sees them.
/// It runs after authorization, so a caller who may not call the endpoint learns nothing from it.
/// </summary>
public sealed class ApiParameterGuard(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/api") && Problems(context.Request) is { } errors)
        {
            throw new ValidationFailedException(errors);
        }

        return next(context);
    }

    /// <summary>One error per query or route parameter whose name or value holds a control character; null when none does.</summary>
    public static List<FieldError>? Problems(HttpRequest request)
    {
        List<FieldError>? errors = null;
        foreach (var (name, values) in request.Query)
        {
            foreach (var value in values)
            {
                if (HasControl(name) || HasControl(value))
                {
                    (errors ??= []).Add(Error(name, value, "query parameter"));
                    break;
                }
            }
        }

        foreach (var (name, value) in request.RouteValues)
        {
            if (value is string text && HasControl(text))
            {
                (errors ??= []).Add(Error(name, text, "path segment"));
            }
        }

        return errors;
    }

    private static bool HasControl(string? text) => text is not null && text.Any(char.IsControl);

    private static FieldError Error(string name, string? value, string where)
    {
        var field = Validators.Printable(name);
        return new FieldError(field, $"{field} '{Validators.Printable(value ?? string.Empty)}': a {where}'s name or value may not hold a control character (a line break, tab or the like)");
    }
}
