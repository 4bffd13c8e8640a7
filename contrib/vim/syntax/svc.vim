" Vim syntax file
" Language:	svc, svcc's service description language (svc(5))
" Install:	copy syntax/ and ftdetect/ into ~/.vim/ (or a package's start/ directory)

if exists('b:current_syntax')
  finish
endif

" keywords have dashes in them (pod-cidr)
syn iskeyword @,48-57,_,-

syn match svcComment	"#.*$" contains=@Spell
syn keyword svcBlock	cluster masquerade service
syn keyword svcStatement pod-cidr service-cidr node-ip node-pod-cidr pod-bridge pod-interface-prefix zone node-name
syn keyword svcStatement non-pod all from
syn keyword svcStatement vip port nodeport external-ip load-balancer source-ranges affinity traffic-policy
syn keyword svcStatement traffic-distribution health-check-nodeport endpoint
" the words statements take ("cluster" of traffic-policy stays the block keyword)
syn keyword svcValue	tcp udp sctp proxy client-ip timeout none external internal local
syn keyword svcValue	prefer-same-zone prefer-close prefer-same-node
syn keyword svcValue	terminating weight node hint-zone hint-node
" an address or CIDR, after the plain number so that it wins where both match
syn match svcNumber	"\<\d\+\>"
syn match svcAddress	"\<\d\{1,3}\%(\.\d\{1,3}\)\{3}\%(/\d\{1,2}\)\=\>"
syn match svcAddress	"\<\x*::\=\x*:[0-9a-fA-F:.]*\%(/\d\{1,3}\)\="
syn match svcOperator	"->"
syn match svcDelimiter	"[{};,]"

hi def link svcComment	 Comment
hi def link svcBlock	 Structure
hi def link svcStatement Statement
hi def link svcValue	 Constant
hi def link svcAddress	 Number
hi def link svcNumber	 Number
hi def link svcOperator	 Operator
hi def link svcDelimiter Delimiter

let b:current_syntax = 'svc'
