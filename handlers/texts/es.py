"""Español."""

from __future__ import annotations

from bot.domain.intake import Delivery
from bot.domain.models import (
    AlertReason,
    BreakdownBy,
    CaseDelivery,
    ResponseStatus,
    SentimentLabel,
)
from handlers.texts.catalogue import Texts

SPANISH = Texts(
    language_name="Español",
    unnamed_clinic="nuestra clínica",
    language_names={"en": "inglés", "es": "español"},
    consent=(
        "¡Hola! En {clinic} nos gustaría saber cómo fue su visita. Le llevará menos de un "
        "minuto.\n\n"
        "Si está de acuerdo, guardamos sus respuestas con un código aleatorio (no su nombre, "
        "ni su teléfono salvo que decida compartirlo para que le llamemos) para que la "
        "clínica mejore su atención, y las borramos "
        "automáticamente a los {retention_days} días. Envíe /forget en cualquier momento para "
        "borrar todo lo que nos dijo, /cancel para detener una encuesta y /language para "
        "cambiar el idioma.\n\n"
        "No se guarda nada hasta que pulse «Acepto»."
    ),
    consent_booking_link=(
        "Este enlace viene del sistema de citas de la clínica. Si acepta, recordamos además "
        "que es paciente suyo, para que la encuesta de su próxima visita le llegue aquí "
        "directamente. /stop detiene esos mensajes; /forget también borra esto."
    ),
    consent_agree="Acepto",
    consent_decline="No, gracias",
    consent_declined="Sin problema: no se ha guardado nada. Si cambia de opinión, envíe /start.",
    welcome_back="¡Bienvenido/a de nuevo! Sigamos donde lo dejó.",
    progress="Pregunta {number} de {total}",
    choose_treatment="¿Qué tratamiento se hizo?",
    skip="Omitir",
    skipped="(omitida)",
    yes="Sí",
    no="No",
    done="Listo ✓",
    multiple_hint="(marque todas las que correspondan y pulse Listo)",
    your_answer="Su respuesta: {answer}",
    thanks="¡Gracias! Su opinión se ha guardado y llega directamente al equipo de {clinic}.",
    review_invitation=(
        "Si tiene un momento, una reseña pública ayuda a otras personas a encontrarnos. "
        "Se lo pedimos a todo el mundo, sea cual sea su opinión."
    ),
    review_button="Dejar una reseña",
    text_truncated=(
        "Su mensaje tenía más de {limit} caracteres, así que hemos guardado los primeros {limit}."
    ),
    use_buttons="Pulse uno de los botones de abajo (o escriba uno de los números que muestran).",
    choose_at_least_one="Marque al menos una opción y pulse Listo.",
    empty_text="Escriba su respuesta con palabras, o pulse Omitir.",
    already_answered="Ya respondió a esta pregunta. ¡Gracias!",
    stale_button="Esa encuesta ya terminó. Envíe /start para darnos su opinión de nuevo.",
    no_survey="No hay ninguna encuesta en curso. Envíe /start para darnos su opinión.",
    not_started="Envíe /start para empezar.",
    cancelled=(
        "Encuesta detenida. Las respuestas que ya dio se conservan. "
        "Envíe /start para empezar de nuevo."
    ),
    nothing_to_cancel="No hay nada que cancelar. Envíe /start para darnos su opinión.",
    help=(
        "Recojo su opinión sobre su visita a {clinic}, con una pregunta rápida cada vez.\n\n"
        "/start — empezar (o continuar) una encuesta\n"
        "/cancel — detener la encuesta actual\n"
        "/language — cambiar el idioma\n"
        "/stop — no recibir más seguimientos (/resume para volver a recibirlos)\n"
        "/forget — borrar todo lo que nos dijo\n"
        "/help — este mensaje"
    ),
    help_staff=(
        "\n\nComandos del personal:\n"
        "/summary [7d|30d|90d|all] — puntuaciones y comentarios\n"
        "/invite tratamiento profesional [centro] [fecha] [encuesta] — enlace y código QR\n"
        "/export [7d|30d|90d|all] — todas las respuestas en CSV (administradores, en privado)\n"
        "/audit — quién consultó datos de pacientes, últimos 7 días (administradores)\n"
        "/cases — casos abiertos, del más antiguo, con su responsable\n"
        "/trend [12w|12m] — CSAT y NPS semana a semana o mes a mes, en un gráfico\n"
        "/console — la consola: resumen, casos, comentarios, desgloses (chat privado)\n"
        "/chatid — en un grupo: su id, para FEEDBACK_STAFF_CHAT"
    ),
    unsupported_content=(
        "Lo siento, solo puedo leer mensajes de texto y botones. "
        "Escriba su respuesta o use los botones."
    ),
    edited_message=(
        "Guardo la primera versión de cada respuesta, así que las ediciones no se guardan. "
        "Si cambió algo importante, envíelo en un mensaje nuevo."
    ),
    unknown_command="No conozco ese comando. Envíe /help para ver lo que puedo hacer.",
    private_only="Solo recojo opiniones en chats privados. Escríbame directamente, por favor.",
    forget_confirm=(
        "Esto borra todo lo que nos dijo, incluidas las encuestas terminadas. "
        "No se puede deshacer. ¿Lo borramos?"
    ),
    forget_yes="Sí, borrar todo",
    forget_no="No, conservarlo",
    forgotten="Hecho: se ha borrado todo lo que nos dijo.",
    nothing_to_forget="No tenemos nada guardado sobre usted.",
    forget_kept="No se ha borrado nada.",
    choose_language="Elija su idioma:",
    language_set="A partir de ahora le hablaré en español.",
    invitation_unknown=(
        "Lo siento, no reconozco ese enlace. Compruébelo con la clínica, "
        "o envíe /start para darnos su opinión sin él."
    ),
    invitation_expired=(
        "Lo siento, ese enlace de opinión ha caducado. "
        "Envíe /start para darnos su opinión igualmente."
    ),
    invitation_used=("Ese enlace ya se usó. ¡Gracias! Envíe /start si quiere contarnos algo más."),
    console_button="Abrir la consola",
    console_open=(
        "La consola de la clínica: resumen, casos, comentarios y desgloses. También está en "
        "el botón de menú junto a donde escribe."
    ),
    console_private_only=(
        "Telegram abre la consola solo desde un chat privado: envíeme /console allí."
    ),
    console_off=(
        "La consola no está configurada: el operador define FEEDBACK_PUBLIC_URL (una "
        "dirección https del servidor de este bot) y FEEDBACK_HTTP_LISTEN o el modo webhook."
    ),
    console_page={
        "title": "Consola",
        "loading": "Cargando…",
        "refused": (
            "Esta consola se abre desde el bot en Telegram, y el acceso ha caducado o no viene "
            "de Telegram. Ciérrela y vuelva a abrirla desde el bot."
        ),
        "not_team": (
            "Esta consola es solo para el equipo de la clínica (FEEDBACK_ADMINS, FEEDBACK_STAFF)."
        ),
        "failed": "La consola no pudo contactar con el bot. Inténtelo de nuevo en un momento.",
        "overview": "Resumen",
        "period_7d": "Últimos 7 días",
        "period_30d": "Últimos 30 días",
        "period_90d": "Últimos 90 días",
        "period_all": "Todo",
        "responses": "Respuestas",
        "completion_rate": "Completadas",
        "csat": "CSAT",
        "satisfied": "Satisfechos",
        "nps": "NPS",
        "response_rate": "Tasa de respuesta",
        "trend": "Evolución",
        "span_12w": "12 semanas",
        "span_12m": "12 meses",
        "cases": "Casos",
        "no_cases": "No hay casos: nadie ha necesitado a la clínica últimamente.",
        "open": "Abiertos",
        "resolved_title": "Resueltos recientemente",
        "unclaimed": "Nadie lo ha asumido",
        "claimed_by": "Lo lleva {name}",
        "resolved_by": "Resuelto por {name}",
        "back": "Todos los casos",
        "why": "Motivo",
        "visit": "Visita",
        "answers": "Respuestas",
        "call_request": "Pidió que le llamen: {phone}",
        "conversation": "Conversación",
        "from_patient": "Paciente",
        "from_clinic": "{name}, al paciente",
        "not_delivered": "aún no entregado",
        "delivery_failed": "no se pudo entregar",
        "note": "Nota",
        "claim": "Asumir",
        "reply": "Responder al paciente",
        "reply_placeholder": "Su respuesta: el paciente la lee en Telegram, de la clínica",
        "send": "Enviar",
        "resolve": "Resolver",
        "note_placeholder": "Una nota de una línea para el registro (opcional)",
        "reply_empty": "Escriba antes la respuesta.",
        "resolved": "Resuelto.",
        "comments": "Comentarios",
        "search_placeholder": "Palabras del comentario",
        "search": "Buscar",
        "any_period": "Cualquier fecha",
        "any_sentiment": "Cualquier sentimiento",
        "any_treatment": "Cualquier tratamiento",
        "any_provider": "Cualquier profesional",
        "any_location": "Cualquier centro",
        "any_survey": "Cualquier encuesta",
        "found": "{total} comentarios",
        "found_more": "Más de {total} comentarios",
        "page_of": "Página {page} de {pages}",
        "previous": "Anterior",
        "next": "Siguiente",
        "no_comments": "Ningún comentario coincide.",
        "breakdowns": "Desgloses",
        "provider": "Profesional",
        "treatment": "Tratamiento",
        "location": "Centro",
        "none": "—",
        "too_small": "muy pocas para juzgar",
        "no_groups": "No hay respuestas en este periodo.",
    },
    mail_subject="¿Qué tal su visita a {clinic}?",
    mail_greeting="Hola:",
    mail_greeting_named="Hola, {name}:",
    mail_body=(
        "Gracias por visitar {clinic} para su {treatment}. ¿Nos cuenta qué tal fue? "
        "Le llevará menos de un minuto, en Telegram."
    ),
    mail_open="Abrir la encuesta en Telegram",
    mail_scan="O escanee este código con la cámara de su teléfono:",
    mail_valid_until="El enlace funciona hasta el {date}.",
    mail_why=(
        "Recibe este correo porque visitó {clinic}. Guardamos su dirección solo hasta enviar "
        "este mensaje, y le escribimos solo por esta visita."
    ),
    followup_intro=(
        "¡Hola de nuevo desde {clinic}! Ya ha pasado un tiempo desde su {treatment}. "
        "¿Nos cuenta qué tal está? Le llevará un minuto."
    ),
    visit_survey_intro=(
        "¡Gracias por visitar {clinic} para su {treatment}! ¿Qué tal fue? "
        "Unas preguntas rápidas, un toque cada una."
    ),
    followup_reminder=(
        "Un recordatorio amable de {clinic}: nos encantaría saber qué tal fue su {treatment}."
    ),
    your_treatment="tratamiento",
    followups_stopped=(
        "Hecho: no le enviaremos más mensajes de seguimiento. "
        "¿Ha cambiado de opinión? Envíe /resume."
    ),
    followups_nothing_to_stop="No le enviamos ningún seguimiento.",
    followups_resumed="Los seguimientos vuelven a estar activos para sus próximas visitas.",
    something_went_wrong=(
        "Lo siento, algo ha fallado por nuestra parte. Las respuestas que ya dio están a salvo; "
        "envíe /start para continuar."
    ),
    staff_reply="{body}\n\n— {clinic}",
    message_passed_on="Gracias: su mensaje se ha pasado al equipo de {clinic}.",
    call_offer=(
        "Sentimos que su visita no estuviera a la altura. ¿Quiere que alguien de {clinic} "
        "le llame? Pulse el botón para compartir su teléfono; solo lo usaremos para "
        "llamarle por esta visita, y /forget lo borra."
    ),
    call_me_button="📞 Llámenme, por favor",
    call_no_button="No, gracias",
    call_number_saved="Gracias: el equipo le llamará al {phone}.",
    call_declined="De acuerdo. Gracias por su opinión.",
    call_own_number_only=(
        "Comparta su propio número con el botón «Llámenme, por favor»; no se guardó nada."
    ),
    call_nothing_open=(
        "No tenemos ninguna opinión reciente suya por la que llamarle, "
        "así que su número no se guardó."
    ),
    command_descriptions=(
        ("start", "Dar su opinión sobre la visita"),
        ("cancel", "Detener la encuesta actual"),
        ("language", "Cambiar el idioma"),
        ("stop", "No recibir más seguimientos"),
        ("forget", "Borrar todo lo que nos dijo"),
        ("help", "Qué hace este bot"),
    ),
    staff_only="Lo siento, este comando es solo para el personal de la clínica.",
    admins_only=(
        "Lo siento, solo los administradores de la clínica (FEEDBACK_ADMINS) pueden usar "
        "este comando."
    ),
    staff_chats_only=(
        "Los comandos del personal solo funcionan en un chat privado conmigo o en el chat "
        "del personal de la clínica."
    ),
    summary_usage="Uso: /summary [7d|30d|90d|all] (por defecto 30d).",
    export_usage="Uso: /export [7d|30d|90d|all] (por defecto all).",
    export_private_only=(
        "/export envía las respuestas de todos los pacientes, así que solo funciona en un "
        "chat privado conmigo."
    ),
    export_caption=(
        "Exportación de opiniones, {period}: {rows} respuestas (pacientes solo por seudónimo). "
        "Guarde este archivo en privado."
    ),
    export_too_large=(
        "La exportación ocupa {size} MB, más de los 50 MB que Telegram permite enviar a un "
        "bot. Use feedback-bot export en el servidor o pida un periodo más corto."
    ),
    audit_private_only=(
        "/audit muestra quién consultó los datos de los pacientes, así que solo funciona en "
        "un chat privado conmigo."
    ),
    audit_caption=(
        "Registro de auditoría, últimos 7 días: {rows} entradas (quién, qué, cuándo; ninguna "
        "palabra de pacientes). Guarde este archivo en privado."
    ),
    audit_head=(
        "🔏 Registro de auditoría, {day}: la entrada {number} tiene el hash\n"
        "<code>{hash}</code>\n"
        "Esta copia vive fuera de la base de datos: si se reescribiera el registro, el hash "
        "de la entrada ya no sería este (feedback-bot audit --format csv lo muestra, "
        "feedback-bot audit verify comprueba la cadena)."
    ),
    invite_usage=(
        "Uso: /invite tratamiento profesional [centro] [fecha AAAA-MM-DD] [encuesta]\n"
        'Ponga entre comillas los nombres con espacios: /invite botox "Dra. Ana Ruiz" centro'
    ),
    invite_unknown_survey="No existe la encuesta {survey!r}. Encuestas: {surveys}.",
    invite_created=(
        "Enlace de visita para {treatment} con {provider} — de un solo uso, válido hasta "
        "el {expires}:\n{link}"
    ),
    alert_title="⚠️ <b>Paciente a quien llamar</b> — {patient}",
    alert_why="Motivo: {reasons}",
    alert_clinical_title="🚨 <b>Posible complicación — seguimiento clínico</b> — {patient}",
    safety_advice=(
        "Gracias por contárnoslo: la clínica se pondrá en contacto con usted. Si los síntomas "
        "son intensos o empeoran (por ejemplo, cambios en la visión, piel que se vuelve blanca "
        "o gris, enrojecimiento que se extiende, fiebre o un dolor que va a más), llame ahora "
        "a la clínica o a su número local de emergencias."
    ),
    alert_reasons={
        AlertReason.CLINICAL: "posible complicación",
        AlertReason.LOW_CSAT: "satisfacción baja",
        AlertReason.LOW_NPS: "no nos recomendaría",
        AlertReason.NEGATIVE_COMMENT: "comentario negativo",
    },
    alert_survey="Encuesta: {title} · empezada {ago}",
    alert_visit="Visita: {visit}",
    alert_language="🗣 El paciente usa el bot en {language}: llame en {language}.",
    alert_status="Estado: {status}",
    alert_maybe_repeat=(
        "<i>Enviado de nuevo: un intento anterior puede haber llegado también a este chat "
        "(Telegram no lo confirmó). Esta copia es la que se mantiene al día.</i>"
    ),
    alert_erased=(
        "<i>Este aviso se ha retirado: las respuestas del paciente se borraron (a petición "
        "suya o al terminar el plazo de conservación).</i>"
    ),
    alert_minimal=(
        "<i>Lo que escribió el paciente y cómo contactarle no se muestran en este grupo: "
        "pulse 🔎 Detalles para leerlo en su chat privado conmigo.</i>"
    ),
    in_details="<i>(en Detalles)</i>",
    case_callback_hidden="📞 Pide que le llamen: el número está en Detalles",
    case_details="🔎 Detalles",
    case_details_heading="🔎 <b>Caso {case}</b>, solo para usted: no lo reenvíe.",
    case_details_sent="Enviado a su chat privado conmigo.",
    case_details_start_first=(
        "Aún no puedo escribirle: abra un chat privado conmigo, pulse Iniciar y vuelva a "
        "pulsar 🔎 Detalles."
    ),
    statuses={
        ResponseStatus.IN_PROGRESS: "en curso",
        ResponseStatus.COMPLETED: "terminada",
        ResponseStatus.ABANDONED: "abandonada",
    },
    just_now="ahora mismo",
    minutes_ago="hace {n} min",
    hours_ago="hace {n} h",
    days_ago="hace {n} días",
    summary_title="📊 <b>Resumen de opiniones — {period}</b>",
    summary_all_time="desde el principio",
    summary_last="últimos {period}",
    summary_responses="Respuestas: {started} empezadas, {completed} terminadas ({rate})",
    summary_csat="CSAT: {mean} / {top} · {satisfied} con {cut}–{top} ({count} respuestas)",
    summary_csat_mixed=(
        "CSAT: {mean} · {satisfied} en los dos valores más altos de su escala"
        " ({count} respuestas, en más de una escala)"
    ),
    summary_nps="NPS: {score} · promotores {promoters}, pasivos {passives}, "
    "detractores {detractors}",
    summary_csat_empty="CSAT: sin respuestas",
    summary_nps_empty="NPS: sin respuestas",
    summary_sentiment="Tono de los comentarios: {mix}",
    sentiment_labels={
        SentimentLabel.NEGATIVE: "negativo",
        SentimentLabel.NEUTRAL: "neutro",
        SentimentLabel.UNKNOWN: "otro idioma",
        SentimentLabel.POSITIVE: "positivo",
    },
    breakdown_titles={
        BreakdownBy.TREATMENT: "<b>Por tratamiento</b>",
        BreakdownBy.PROVIDER: "<b>Por profesional</b>",
        BreakdownBy.LOCATION: "<b>Por centro</b>",
    },
    over_time_title="<b>Con el tiempo: en la visita y semanas después</b>",
    breakdown_row="• {name}: {responses} · CSAT {csat} · NPS {nps}",
    summary_negative="<b>Últimos comentarios negativos</b>",
    summary_invitations=(
        "Enlaces de visita: {created} creados · {opened} abiertos ({opened_rate}) · "
        "{completed} completados ({completed_rate})"
    ),
    invitation_titles={
        BreakdownBy.PROVIDER: "<b>Enlaces por profesional</b>",
        BreakdownBy.LOCATION: "<b>Enlaces por centro</b>",
    },
    invitation_row=(
        "• {name}: {created} creados · {opened} abiertos · {completed} completados ({rate})"
    ),
    summary_visits="<b>Visitas del sistema de citas</b>: {received} recibidas",
    visit_channel_names={
        Delivery.TELEGRAM: "preguntadas en Telegram",
        Delivery.EMAIL: "invitadas por correo",
        Delivery.NONE: "solo enlace",
    },
    visit_channel_row=(
        "• {name}: {invited} · {opened} abiertas · {completed} completadas ({rate})"
    ),
    case_claim="🙋 Asumir",
    case_reply="↪️ Responder",
    case_resolve="✅ Resolver",
    case_claimed="Este caso es suyo ahora.",
    case_taken_by="{name} ya ha asumido este caso.",
    case_already_yours="Este caso ya es suyo.",
    case_closed="Este caso ya está resuelto.",
    case_gone="Este caso ya no existe: los datos del paciente se borraron.",
    case_team_only=(
        "Solo el equipo de la clínica (FEEDBACK_ADMINS, FEEDBACK_STAFF) puede actuar sobre casos."
    ),
    case_reply_prompt=(
        "↪️ {staff}, escriba su respuesta a {patient} contestando a este mensaje. Le llega "
        "al paciente firmada «{clinic}»; su nombre y su cuenta nunca se muestran. "
        "/cancel para dejarlo."
    ),
    case_resolved_prompt=(
        "✅ {staff} ha resuelto {patient}. Para guardar una nota de una línea con el caso, "
        "envíela contestando a este mensaje (opcional)."
    ),
    case_prompt_failed=(
        "Telegram no aceptó el mensaje del bot ahora mismo; pulse el botón de nuevo en un momento."
    ),
    case_prompt_cancelled="Cancelado: no se envió nada.",
    case_nothing_to_cancel="No hay ninguna respuesta ni nota suya pendiente.",
    case_reply_queued=(
        "✓ En camino a {patient}, firmada «{clinic}». La alerta muestra cuándo llega."
    ),
    case_reply_too_long=(
        "Es demasiado largo para un mensaje ({limit} caracteres como máximo); no se envió nada."
    ),
    case_noted="✓ Nota guardada con el caso de {patient}.",
    case_team_only_reply=(
        "Solo el equipo de la clínica (FEEDBACK_ADMINS, FEEDBACK_STAFF) puede responder a "
        "pacientes; no se envió nada."
    ),
    case_claimed_line="👤 Asumido por {name} · {ago}",
    case_unclaimed_line="👤 Nadie ha asumido este caso todavía",
    case_reposted_line="⏰ <b>Publicado de nuevo: nadie ha asumido este caso.</b>",
    case_resolved_line="✅ <b>Resuelto</b> por {name} · {ago}",
    case_note_line="Nota:",
    case_callback_line="📞 Pide que le llamen: <code>{phone}</code>",
    case_to_patient_line="↪️ {name} al paciente · {ago} · {delivery}",
    case_from_patient_line="💬 Paciente · {ago}",
    case_earlier_messages="… {n} mensajes anteriores",
    case_deliveries={
        CaseDelivery.PENDING: "en camino",
        CaseDelivery.DELIVERED: "entregado ✓",
        CaseDelivery.FAILED: "no entregado (bloqueado, o inaccesible durante un día)",
    },
    case_patient_wrote="💬 <b>{patient}</b> ha contestado:",
    cases_title="<b>Casos abiertos</b> ({count}), del más antiguo al más reciente:",
    cases_row="• {age} · {patient} · {reasons} · {owner}",
    cases_nobody="<b>nadie todavía</b>",
    cases_more="… y {n} más",
    cases_none="No hay casos abiertos. 🎉",
    summary_cases=(
        "Casos: {opened} abiertos · {resolved} resueltos ({share}) · mediana hasta la "
        "primera respuesta {reply}, hasta la resolución {resolution}"
    ),
    summary_cases_empty="Casos: ninguno abierto",
    trend_usage="Uso: /trend [12w|12m] (por defecto 12w).",
    trend_title_weeks="{clinic}: las últimas 12 semanas",
    trend_title_months="{clinic}: los últimos 12 meses",
    trend_csat="CSAT (1–5)",
    trend_nps="NPS",
    trend_responses="Respuestas",
    trend_all="todas las respuestas",
    trend_visit_day="en la visita",
    trend_followup="semanas después (seguimientos)",
    trend_caption=(
        "CSAT y NPS por {unit}, últimos 12 periodos: {responses} respuestas. "
        "Discontinua: la encuesta de la visita; de puntos: los seguimientos."
    ),
    trend_week="semana",
    trend_month="mes",
    chat_id_group=(
        "El id de este chat es {chat_id}. Para que las alertas lleguen aquí, ponga "
        "FEEDBACK_STAFF_CHAT={chat_id} y reinicie el bot."
    ),
    chat_id_private=(
        "Envíe /chatid en el grupo del personal (después de añadirme) para saber el id "
        "que necesita FEEDBACK_STAFF_CHAT."
    ),
)
