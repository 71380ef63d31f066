// Words the tiny vocabulary is trained on: common English, the sentiment labels, and a little Chinese.

/**
 * Sentiment label words, weighted highest so each becomes a single token. `中性` is left out on
 * purpose: in the real Qwen vocabulary it takes two tokens, and the tiny model should keep a
 * multi-token label too.
 */
export const LABEL_WORDS = [
  ' positive', ' negative', ' neutral', 'positive', 'negative', 'neutral', '正面', '负面',
];

/** Common English words, most frequent first; each is learned with a leading space. */
export const ENGLISH_WORDS = `
the of and to a in is you that it he was for on are as with his they I at be this have from or one
had by not but what all were we when your can said there an each which she do how their if will up
other about out many then them these so some her would make like him into time has look two more
go see no way could people my than first been who its now find long down day did get come made may
feel feeling felt sad happy sorry help thanks thank really today good bad great love hate friend work
tired angry hope understand hear sounds talk better worry stress glad alone sentiment answer text
message user assistant hello please just know think want need because very much also well here
`.trim().split(/\s+/);

/** Sentence starts that appear without a leading space. */
export const CAPITALISED_WORDS = ['I', 'The', 'You', 'It', 'We', 'This', 'Hello', 'Thank', 'Sentiment', 'Answer'];

/** Contractions and line breaks, pre-tokenised the way Qwen's regex splits them. */
export const FRAGMENTS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", '\n\n', ':\n', '.\n'];

/** Everyday Chinese words, so Chinese byte sequences get merges of their own. */
export const CHINESE_WORDS = [
  '你好', '谢谢', '我', '你', '的', '是', '不', '很', '好',
  '开心', '难过', '今天', '朋友', '工作', '喜欢', '我们', '情感', '分析',
];
